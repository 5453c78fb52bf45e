# The two commands: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help run train serve test lint chromium lock clean

help:
	@echo "make run    set up .venv, train on the best reachable source, serve on :8080"
	@echo "make serve  serve the artifacts already trained (MODEL_DIR, default artifacts/)"
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
	$(BIN)/python api.py

train: $(VENV)/.run-deps
	$(BIN)/python train.py

serve: $(VENV)/.run-deps
	$(BIN)/python api.py

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint chromium
	$(BIN)/pytest

# The browser test drives Debian's chromium. Installed here when possible (as root, with apt);
# otherwise the test is skipped and says why.
chromium:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser test"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || \
		  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; \
		} >/dev/null || echo "could not install chromium: the browser test will be skipped" >&2; \
	else \
		echo "chromium is not installed and this is not root: the browser test will be skipped" >&2; \
	fi

lock: $(VENV)/.test-deps
	for name in api train dev; do \
		$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url \
			--no-emit-find-links requirements-$$name.in -o requirements-$$name.txt; \
	done

clean:
	rm -rf $(VENV) .cache artifacts reports .pytest_cache .ruff_cache .hypothesis
