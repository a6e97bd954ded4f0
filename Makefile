# Two commands do all set-up (see README):
#   make run   — create .venv, install, start the dashboard on the shipped data and models
#   make test  — create .venv, install (with test tools and Debian's Chromium), run the tests
#   make demo  — the dashboard as a public demo: no training, bounded controls, no tracebacks
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run demo test install zoo bench lint

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/streamlit run app.py

# Demo mode (dashboard/settings.py) plus the server options a public demo needs: generic error
# messages, no Deploy button or developer menu, 1 MB uploads.
demo: install
	JLML_DEMO=1 STREAMLIT_CLIENT_SHOW_ERROR_DETAILS=none STREAMLIT_CLIENT_TOOLBAR_MODE=viewer \
	STREAMLIT_SERVER_MAX_UPLOAD_SIZE=1 $(BIN)/streamlit run app.py

test: install
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

zoo: install
	$(BIN)/python -m jlml_core zoo

bench: install
	$(BIN)/python bench/train_throughput.py
