# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo
# Ports of the demo's source and staff apps: `make run PORT=9080 STAFF_PORT=9081`.
PORT ?= 8080
STAFF_PORT ?= 8081

.PHONY: run test lint install bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# A local demo: a demo admin vault and instance are created on first run, then served
# (as an onion service when tor is installed, else on loopback with a warning).
run: $(BIN)/.installed
	PATH="$(abspath $(BIN)):$$PATH" sh deploy/demo.sh "$(DEMO)" --port "$(PORT)" --staff-port "$(STAFF_PORT)"

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# PYTEST_ARGS: only some tests, e.g. `make test PYTEST_ARGS=tests/test_staff_cli.py`.
test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m bench
