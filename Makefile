# Set-up is part of every target: a fresh machine needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 1880
FLOW ?= $(shell test -f flows/mcp-server.yaml && echo flows/mcp-server.yaml || echo flows/examples/hello.yaml)

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# byte-compile flowrt as pip does for a non-editable install (PYTHONDONTWRITEBYTECODE=1
	# would otherwise make every start compile it again: 24% of start-up's instructions)
	$(BIN)/python -m compileall -q flowrt nodes
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flowrt run $(FLOW) -p $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
