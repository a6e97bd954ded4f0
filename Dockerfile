# JL-ML Autoencoder Lab as a shared demo server: CPU-only PyTorch, the model zoo and the data
# baked in, training hidden (JLML_DEMO=1), nothing fetched at run time.
#   docker build -t jlml-demo .
#   docker run --rm -p 8501:8501 jlml-demo          # then open http://localhost:8501
# What was built and run, and what was not: docs/deploy.md.

# Python 3.11 on Debian 12, the interpreter and OS the zoo and the tests run on.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The server runs as this user; the files it serves stay root's, so it cannot change them.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin jlml

WORKDIR /app

# Dependencies before code, so editing the app does not reinstall PyTorch. deploy/requirements.txt
# pins the +cpu builds (PyTorch's CPU index) of the torch/torchvision in requirements.txt.
COPY requirements.txt ./
COPY deploy/requirements.txt deploy/
RUN pip install -r deploy/requirements.txt

# The app, its Streamlit config, the model zoo (checkpoints/) and MNIST/Fashion-MNIST (data/).
COPY .streamlit/config.toml .streamlit/
COPY app.py ./
COPY dashboard/ dashboard/
COPY views/ views/
COPY lessons/ lessons/
COPY jlml_core/ jlml_core/
COPY checkpoints/ checkpoints/
COPY data/ data/

# Demo mode hides the Train page. The STREAMLIT_* lines are Streamlit's own settings for a
# public server: no Deploy/Rerun/Clear-cache menu for visitors, no tracebacks in the browser
# (they still go to the log), no file watching, no usage statistics. One torch thread per
# process: the dashboard sets that anyway, and replicas (docs/deploy.md) scale by process.
ENV JLML_DEMO=1 \
    OMP_NUM_THREADS=1 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_CLIENT_TOOLBAR_MODE=viewer \
    STREAMLIT_CLIENT_SHOW_ERROR_DETAILS=type

# By number, so that a host or Kubernetes' runAsNonRoot can tell it is not root.
USER 10001
EXPOSE 8501

# Slim images have no curl; urlopen raises (exit 1) on anything but a 2xx answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]

CMD ["python", "-m", "dashboard", "--server.address=0.0.0.0", "--server.port=8501"]
