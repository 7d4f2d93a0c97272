# The commands a newcomer runs. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= auto
export FLASK_APP := wsgi

.PHONY: run serve worker test test-sqlite test-postgres e2e bench lint migration upgrade seed clean

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "Portal needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1). Run: make PYTHON=python3.11 ..."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.run-installed: requirements.txt $(VENV)/.python-ok
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt $(VENV)/.run-installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

## run: development server on http://127.0.0.1:5000 (migrates, loads demo data into an empty database)
run: $(VENV)/.run-installed
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	@echo "Serving on http://127.0.0.1:5000 (Ctrl+C to stop). Emails are printed here."
	$(BIN)/flask run --host 127.0.0.1 --port 5000 --reload

## serve: gunicorn, production-like (gunicorn.conf.py, PYTHONOPTIMIZE=2), on http://127.0.0.1:8000
serve: $(VENV)/.run-installed
	$(BIN)/flask db upgrade
	PYTHONOPTIMIZE=2 $(BIN)/gunicorn --workers $${WEB_CONCURRENCY:-2} --bind 127.0.0.1:8000 --access-logfile - wsgi:app

## worker: deliver queued email (needed when MAIL_DELIVER_ON_COMMIT is off, e.g. in production)
worker: $(VENV)/.run-installed
	$(BIN)/flask worker

## migration: make migration m="what changed"
migration: $(VENV)/.run-installed
	@test -n "$(m)" || { echo 'Usage: make migration m="what changed"'; exit 1; }
	$(BIN)/flask db upgrade
	$(BIN)/flask db migrate -m "$(m)"

upgrade: $(VENV)/.run-installed
	$(BIN)/flask db upgrade

seed: $(VENV)/.run-installed
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

## test: lint, the suite on SQLite, and again on PostgreSQL when TEST_DATABASE_URL is set
test: lint test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "TEST_DATABASE_URL is not set: skipped the PostgreSQL pass (e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test make test)"; fi

test-sqlite: $(VENV)/.dev-installed
	TEST_DB=sqlite $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test-postgres: $(VENV)/.dev-installed
	@test -n "$$TEST_DATABASE_URL" || { echo "Set TEST_DATABASE_URL, e.g. postgresql://postgres@127.0.0.1:5432/test"; exit 1; }
	TEST_DB=postgres $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## e2e: only the browser journeys (system Chromium, gunicorn on a fresh database); screenshots in test-artifacts/e2e
e2e: $(VENV)/.dev-installed
	$(BIN)/pytest tests/e2e -p no:xdist $(PYTEST_ARGS)

## bench: load-test the key pages against a ceiling page (needs wrk); see bench/README.md
bench: $(VENV)/.dev-installed
	bench/run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
