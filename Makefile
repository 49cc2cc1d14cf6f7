# Thoth's front door. Every target that needs the virtualenv creates it when missing,
# so `make demo` and `make test` work on a fresh clone with only python3 (>= 3.11).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# Never let uv fetch an interpreter: the machine's python3 is the one we use.
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
STAMP := $(VENV)/.thoth-installed
# The SDK's contract and unit tests and the wheel also run on these (the machine's interpreters,
# never downloaded); the main virtualenv is $(PYTHON)'s.
PYTHONS ?= 3.12 3.13
# The interpreter for Python $(1): pyenv's when it has one (its shims hide other versions), else python$(1).
python_for = $(or $(firstword $(wildcard $(HOME)/.pyenv/versions/$(1).*/bin/python$(1))),python$(1))
INTEGRATIONS := langchain langgraph openai anthropic autogen ag2 agentchat openai-agents mcp pydantic-ai claude-agent-sdk crewai
SERVE_ARGS ?= --insecure-dev

.PHONY: help install regen check-generated lint test test-integrations test-compat test-pythons check-wheel test-all bench bench-smoke demo serve lock clean

help:
	@echo "make demo               run a governed agent against the built-in local enforcer"
	@echo "make test               run the test suite (core, contract, server, end-to-end)"
	@echo "make test-integrations  run each framework's tests in its own virtualenv (.venvs/)"
	@echo "make test-compat        drive every released Thoth client against thoth serve (.venvs/compat/)"
	@echo "make test-pythons       run the SDK's contract and unit tests on Python $(PYTHONS) (.venvs/py*)"
	@echo "make check-wheel        build the wheel; install and import it on python3 and Python $(PYTHONS)"
	@echo "make install | regen | check-generated | lint | bench | serve | lock"

$(BIN)/uv:
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "Thoth needs Python >= 3.11, found %d.%d: run make PYTHON=python3.11 ..." % v[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(BIN)/uv pyproject.toml requirements/dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python -c requirements/dev.lock -e ".[dev,server,bench,postgres]"
	touch $@

install: $(STAMP)

regen: $(STAMP)
	$(BIN)/python openapi/regen.py

check-generated: $(STAMP)
	$(BIN)/python openapi/regen.py --check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Tests run in parallel, one pytest-xdist worker per core (each worker starts its own servers and
# PostgreSQL cluster on free ports); PYTEST_WORKERS=0 runs them in this process, one at a time.
PYTEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Framework pins conflict, so each framework gets its own virtualenv from its lock file.
test-integrations: $(BIN)/uv
	@for fw in $(or $(FRAMEWORKS),$(INTEGRATIONS)); do \
	  $(MAKE) --no-print-directory test-integration-$$fw || exit 1; \
	done

test-integration-%: $(BIN)/uv
	@test -f requirements/$*.lock || { echo "no requirements/$*.lock: run make lock"; exit 1; }
	@echo "== integration: $*"
	@test -x .venvs/$*/bin/python || $(BIN)/uv venv -q --python $(PYTHON) .venvs/$*
	$(BIN)/uv pip install -q --python .venvs/$*/bin/python -c requirements/$*.lock -e ".[dev,server,$*]"
	THOTH_FAIL_ON_SKIP=1 .venvs/$*/bin/python -m pytest -q -rs -p no:cacheprovider tests/integrations/$(subst -,_,$*)

# Every released aten-thoth / atensec-thoth, each in its own Python 3.12 virtualenv, installed
# from the package index (cached in .venvs/compat/), against a real thoth serve.
test-compat: $(STAMP)
	THOTH_COMPAT=1 THOTH_FAIL_ON_SKIP=$(or $(THOTH_FAIL_ON_SKIP),0) $(BIN)/python -m pytest -q -rs -p no:cacheprovider tests/compat

# requires-python says >= 3.11: the SDK's own tests run on every other version this machine has.
test-pythons: $(BIN)/uv
	@for v in $(PYTHONS); do \
	  $(MAKE) --no-print-directory test-python-$$v || exit 1; \
	done

test-python-%: $(BIN)/uv
	@echo "== Python $*: contract and unit tests"
	@test -x .venvs/py$*/bin/python || $(BIN)/uv venv -q --python $(call python_for,$*) .venvs/py$* \
	  || { echo "no Python $* on this machine (make PYTHONS=... to choose others)"; exit 1; }
	$(BIN)/uv pip install -q --python .venvs/py$*/bin/python -c requirements/dev.lock -e ".[dev,server]"
	THOTH_FAIL_ON_SKIP=1 .venvs/py$*/bin/python -m pytest -q -rs -p no:cacheprovider -n $(PYTEST_WORKERS) tests/contract tests/unit

# The built wheel installs and imports in a clean virtualenv on each interpreter.
check-wheel: $(BIN)/uv
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	$(BIN)/uv build -q --wheel -o "$$dir"; \
	for py in $(PYTHON) $(foreach v,$(PYTHONS),$(call python_for,$(v))); do \
	  rm -rf "$$dir/venv"; \
	  $(BIN)/uv venv -q --python "$$py" "$$dir/venv"; \
	  $(BIN)/uv pip install -q --python "$$dir/venv/bin/python" "$$dir"/thoth_sdk-*.whl; \
	  (cd "$$dir" && ./venv/bin/python -c "import sys, thoth, thoth_api_client; from thoth_api_client import AuthenticatedClient; print('wheel ok:', thoth.__version__, 'on Python', sys.version.split()[0])"); \
	done

test-all: test test-integrations test-compat test-pythons

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

bench-smoke: $(STAMP)
	$(BIN)/python -m benchmarks --smoke

demo: $(STAMP)
	$(BIN)/python examples/run_demo.py

serve: $(STAMP)
	$(BIN)/thoth serve $(SERVE_ARGS)

# Re-resolve every lock file (needs the package index).
lock: $(BIN)/uv
	$(BIN)/uv pip compile -q --python-version 3.11 pyproject.toml --extra dev --extra server --extra bench --extra postgres -o requirements/dev.lock
	$(BIN)/uv pip compile -q --python-version 3.12 requirements/compat.in -o requirements/compat.lock
	@for fw in $(INTEGRATIONS); do \
	  $(BIN)/uv pip compile -q --python-version 3.11 pyproject.toml --extra dev --extra server --extra $$fw -o requirements/$$fw.lock || exit 1; \
	done

clean:
	rm -rf $(VENV) .venvs .mypy_cache .pytest_cache .ruff_cache dist build
