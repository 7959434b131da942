# The two commands: `make run` serves the API, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Details of the quiet steps (installing, starting PostgreSQL, migrating, loading the plan),
# in the data folder (DXPLAN_DATA_DIR, .data by default).
LOGS := $(or $(DXPLAN_DATA_DIR),.data)/logs

.PHONY: run test lint pytest openapi bench bench-quick clean distclean

# One line on the terminal; pip's output goes to a log, shown in full when it fails.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is required ($(PYTHON))"; exit 1; }
	@mkdir -p $(LOGS)
	@echo "dxplan: installing into $(VENV) (.[dev], the embedded PostgreSQL included; about a minute the first time) ..."
	@{ test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } > $(LOGS)/install.log 2>&1 && \
	  $(BIN)/python -m pip install --upgrade pip >> $(LOGS)/install.log 2>&1 && \
	  $(BIN)/python -m pip install -e '.[dev]' >> $(LOGS)/install.log 2>&1 || \
	  { cat $(LOGS)/install.log; echo "dxplan: installing failed (the log above is in $(LOGS)/install.log)"; exit 1; }
	@rm -f $(VENV)/.installed-*
	@touch $@

## Serve on http://127.0.0.1:8000 (DXPLAN_HOST/DXPLAN_PORT); embedded PostgreSQL without DATABASE_URL.
run: $(STAMP)
	@$(BIN)/dxplan serve --setup-log $(LOGS)/run.log

## Lint, type-check, then the whole test suite on PostgreSQL.
test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check app migrations tests bench
	$(BIN)/ruff format --check app migrations tests bench
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

pytest: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadgroup

## Rewrite the committed contract from the app.
openapi: $(STAMP)
	$(BIN)/dxplan openapi > openapi/openapi.json

## Benchmark, not part of `make test` (README "Benchmark"; needs wrk): the service in production
## mode on a fresh database against a bare ASGI ceiling, at 1× and 100× history; about 10 minutes;
## appends the run to bench/RESULTS.md. BENCH_DATABASE_URL (or DATABASE_URL): a local PostgreSQL
## superuser to create the throwaway database with; else an embedded one.
bench: $(STAMP)
	$(BIN)/python -m bench.run

## The same with 3 s runs and 10× history, not recorded: for development (about 3 minutes).
bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick --no-record

## Remove what installing and building made; keeps .data (the database, evidence files, logs).
clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./.data -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

## Also remove .data: the embedded database with every report entered, evidence files, logs.
distclean: clean
	rm -rf .data
