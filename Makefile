# A1 — `make run` serves the site (embedded mode); `make test` runs every test.
PY := .venv/bin/python
PIP := .venv/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# One thread per process (docs/performance.md): scale with processes, not threads.
export OMP_NUM_THREADS ?= 1

.PHONY: run test install test-fast test-services test-e2e lint serve worker

.venv/bin/python:
	python3.11 -m venv .venv || python3 -m venv .venv
	$(PIP) install -q -U pip

.venv/.installed: .venv/bin/python pyproject.toml
	$(PIP) install -q -e '.[dev]'
	touch .venv/.installed

install: .venv/.installed

run: install
	./scripts/write-env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_demo
	@echo "Serving at http://$(HOST):$(PORT)/ — log in with the demo user above (Ctrl-C stops)."
	$(PY) -m a1site.serve --host $(HOST) --port $(PORT)

# The whole suite: fast tests on the embedded mode, then browser tests, then the service
# tests against real PostgreSQL, Redis, a Celery worker and an ASGI server.
test: install
	.venv/bin/lint-imports
	./scripts/ensure-chromium
	$(PY) -m pytest tests --ignore=tests/services -q
	$(MAKE) test-services

test-services: install
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(PY) -m pytest tests/services -q

lint: install
	.venv/bin/ruff check .
