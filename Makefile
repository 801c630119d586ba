# Everything a fresh machine needs: `make run` starts the service, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install clean

$(STAMP): pyproject.toml examples/zentropy-hello/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=70" wheel
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## Start the API (and, on the embedded default, PostgreSQL, Redis and the worker).
	$(BIN)/zentropy serve

test: $(STAMP)  ## Run the test suite against real PostgreSQL (pgvector) and Redis.
	$(BIN)/python -m pytest

bench: $(STAMP)  ## Run the benchmarks; results go to docs/benchmarks.md.
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .test-data .pytest_cache .hypothesis
