# The two commands: `make run` serves the API, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint pytest openapi clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is required ($(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

## Serve on http://127.0.0.1:8000 (DXPLAN_HOST/DXPLAN_PORT); embedded PostgreSQL without DATABASE_URL.
run: $(STAMP)
	$(BIN)/dxplan serve

## Lint, type-check, then the whole test suite on PostgreSQL.
test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check app migrations tests bench
	$(BIN)/ruff format --check app migrations tests bench
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

pytest: $(STAMP)
	$(BIN)/pytest -q

## Rewrite the committed contract from the app.
openapi: $(STAMP)
	$(BIN)/dxplan openapi > openapi/openapi.json

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
