# The two commands: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help run train test lint lock clean

help:
	@echo "make run    set up .venv, train on the best reachable source, serve on :8080"
	@echo "make test   set up .venv and run linters and the whole test suite"
	@echo "make lock   re-pin requirements-*.txt from requirements-*.in"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "cryptopredict needs Python 3.11 (found $$($(PYTHON) --version)); set PYTHON=" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements-train.txt requirements-api.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-train.txt -r requirements-api.txt
	touch $@

$(VENV)/.test-deps: $(VENV)/.run-deps requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.run-deps
	$(BIN)/python train.py

train: $(VENV)/.run-deps
	$(BIN)/python train.py

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

lock: $(VENV)/.test-deps
	for name in api train dev; do \
		$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url \
			--no-emit-find-links requirements-$$name.in -o requirements-$$name.txt; \
	done

clean:
	rm -rf $(VENV) .cache artifacts reports .pytest_cache .ruff_cache .hypothesis

.PHONY: compare report
compare: $(VENV)/.run-deps  ## the configuration comparison (about half an hour)
	$(BIN)/python -m cryptopredict.model.compare

report: $(VENV)/.run-deps  ## refresh the README's model report from artifacts/btc-usd
	$(BIN)/python -m cryptopredict.model.report --artifact artifacts/btc-usd
