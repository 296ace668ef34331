# mwaadeps developer tasks. `make demo` and `make test` work on a fresh machine with only
# Python, pip and Debian's apt: they install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The host's pip configuration must not shape our own venv either.
PIP := PIP_CONFIG_FILE=/dev/null $(BIN)/python -m pip --isolated --disable-pip-version-check

.PHONY: venv lint typecheck docker test test-fast demo bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test]"
	touch $@

lint: venv
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src

typecheck: venv
	$(BIN)/mypy

# A Docker engine (installed and started when missing) and the Debian base image with
# MWAA's build toolchain (mwaadeps-base:bookworm-toolchain).
# With CI=true a missing engine fails the run; elsewhere the Docker tests skip.
docker:
	@if bash scripts/ensure-docker.sh; then :; \
	elif [ "$${CI:-}" = "true" ]; then echo "make docker: no Docker engine (CI=true)" >&2; exit 1; \
	else echo "make docker: no Docker engine; Docker tests will skip" >&2; fi

test: venv lint typecheck docker
	$(BIN)/pytest -q

# Unit and hermetic tests only: no Docker, no PyPI.
test-fast: venv
	$(BIN)/pytest -q -m "not docker and not network"

demo: venv
	@if bash scripts/ensure-docker.sh >/dev/null 2>&1; then echo "demo: Docker engine up"; \
	else echo "demo: no Docker engine; test-local will be skipped"; fi
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

bench: venv docker
	$(BIN)/python bench/run.py
	$(BIN)/python bench/realfiles.py

clean:
	rm -rf $(VENV) .demo bench/work .pytest_cache .mypy_cache .ruff_cache
