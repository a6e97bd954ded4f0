# Two commands do all set-up (see README):
#   make run   — create .venv, install what the dashboard needs (requirements.txt), start it on
#                the shipped data and models
#   make test  — the same plus the test tools (requirements-dev.txt, Debian's Chromium), then
#                run the tests
#   make demo  — the dashboard as a public demo: no training, bounded controls, no tracebacks
#
# Each install level leaves a stamp in .venv, remade when its requirements change: `make test`
# after `make run` only adds the test tools, and `make run` after `make test` installs nothing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run demo test install install-runtime install-dev zoo bench lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# requirements-dev.txt includes requirements.txt, which the runtime stamp has installed already.
$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install-runtime: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

install: install-dev

run: install-runtime
	$(BIN)/python -m dashboard

# Demo mode (dashboard/settings.py) plus the server options a public demo needs: generic error
# messages, no Deploy button or developer menu, 1 MB uploads.
demo: install-runtime
	JLML_DEMO=1 STREAMLIT_CLIENT_SHOW_ERROR_DETAILS=none STREAMLIT_CLIENT_TOOLBAR_MODE=viewer \
	STREAMLIT_SERVER_MAX_UPLOAD_SIZE=1 $(BIN)/python -m dashboard

test: install-dev
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .

zoo: install-runtime
	$(BIN)/python -m jlml_core zoo

bench: install-runtime
	$(BIN)/python bench/train_throughput.py
