# Two entry points: `make run` (set up, then `dvc repro` on the built-in sample) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export DVC_NO_ANALYTICS := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup run test lint lock browser system mlflow-ui clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: uv skips .pyc files by default, and then every stage and test process compiles
# ibis, sqlglot, pandas and the rest again on import (about a second each).
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	touch $@

# Java runs the Spark engine; Chromium runs the report's browser test. Both come from Debian.
system:
	@command -v java >/dev/null && command -v chromium >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    default-jre-headless chromium >/dev/null; }

setup: $(VENV)/.installed

run: setup
	dvc repro

test: setup system
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

lock: | $(BIN)/uv
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements.in -o requirements.lock

mlflow-ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000 --workers 1

clean:
	rm -rf $(VENV)
