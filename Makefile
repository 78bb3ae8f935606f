# Deploy Assistant developer tasks. `make` runs the quality gates (lint, type, test).
PY ?= .venv/bin/python
BIN := $(dir $(PY))

.PHONY: check install fmt lint type test demo bench clean

check: lint type test

install:
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements-lock.txt -e ".[dev]"

fmt:
	$(BIN)ruff format .
	$(BIN)ruff check --fix .

lint:
	$(BIN)ruff format --check .
	$(BIN)ruff check .
	$(BIN)lint-imports

type:
	$(BIN)mypy

test:
	$(PY) -m pytest -q -m "not llm and not slow"

demo:
	$(BIN)da-ci demo

# Each benchmark prints its table and writes bench/results/<name>.json. log_templates needs the
# Loghub-2k research data next to the repository (../shared); it is never copied in.
bench:
	$(PY) -m bench.verdict_latency
	$(PY) -m bench.diagnosis
	$(PY) -m bench.reduction
	$(PY) -m bench.watcher_scale
	$(PY) -m bench.log_templates

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
