# FieldSync. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app server:create_app
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install install-dev migrate seed run test test-wmdb test-sqlite lint openapi bench clean app

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## Create .venv and install the service

install-dev: $(VENV)/.installed-dev ## Also install the test and bench tools

migrate: install ## Apply the migrations to DATABASE_URL (default: SQLite in instance/)
	$(FLASK) db upgrade

seed: migrate ## Load the demo data if the database is empty, else move its clocks to now
	$(FLASK) seed-demo --if-empty --refresh

run: seed ## Migrate, seed and serve the API and pages on http://$(HOST):$(PORT)
	@echo ""
	@echo "  FieldSync on http://$(HOST):$(PORT)"
	@echo "  API docs:    http://$(HOST):$(PORT)/api/v1/docs   (OpenAPI: /api/v1/openapi.json)"
	@echo "  Pages:       http://$(HOST):$(PORT)/"
	@echo "  Demo logins: admin, dispatcher, warehouse, tech01..tech50 / password \$$DEMO_PASSWORD (default fieldsync-demo)"
	@echo ""
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile - wsgi:app

test: install-dev ## Run the whole suite: SQLite always, PostgreSQL when TEST_DATABASE_URL is set
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-wmdb

test-wmdb: install-dev ## The real WatermelonDB client against a server it starts (Node, tests/wmdb)
	@if ! command -v node >/dev/null 2>&1; then \
	    if [ "$$FIELDSYNC_CI" = "1" ]; then echo "node is missing (.ci/run installs it)"; exit 1; fi; \
	    echo "tests/wmdb skipped: node is not installed"; exit 0; \
	fi; \
	if [ ! -d tests/wmdb/node_modules/@nozbe ]; then (cd tests/wmdb && npm ci --silent --no-audit --no-fund); fi; \
	cd tests/wmdb && FIELDSYNC_PYTHON="$(CURDIR)/$(BIN)/python" node --test sync.test.js

lint: install-dev ## ruff
	$(BIN)/ruff check server sync schemas media tests bench deploy

app: ## Rebuild the handheld app's committed bundle (handheld/dist) from handheld/src: needs Node and npm
	cd handheld && npm ci --silent --no-audit --no-fund && node build.mjs

openapi: install ## Write the OpenAPI document to docs/openapi.json
	mkdir -p docs
	$(FLASK) openapi write --format=json docs/openapi.json

bench: install-dev ## Run every benchmark (prints figures; see README)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## Remove the venv and local data
	rm -rf $(VENV) instance .pytest_cache

.PHONY: worker
worker: migrate ## Run the media worker apart (make run already runs one; production: FIELDSYNC_MEDIA_WORKER=separate)
	$(FLASK) media-worker
