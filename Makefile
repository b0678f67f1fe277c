# The two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup browser migrate seed reset-demo worker bench lint freeze clean help

help:
	@echo "make run    - set up, migrate, load demo data, serve http://$(HOST):$(PORT) (PORT=8000 for another port)"
	@echo "make reset-demo - throw the demo database and uploads away and load the demo afresh"
	@echo "make test   - set up and run every test (SQLite; PostgreSQL/Redis when they answer)"
	@echo "make worker - a Celery worker + beat on REDIS_URL"
	@echo "make bench  - the benchmarks under bench/"

$(STAMP): requirements.txt requirements-dev.txt
	@if [ ! -x $(BIN)/python ]; then \
	  $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    rm -rf $(VENV); \
	    if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	    else \
	      $(PYTHON) -m pip install --user -q virtualenv && $(PYTHON) -m virtualenv -q $(VENV); \
	    fi; }; \
	fi
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)

# Debian's Chromium for the browser tests (only where we may install it).
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

migrate: setup
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed-demo

# The embedded demo only: its SQLite file and uploads under instance/ go, then a fresh demo.
reset-demo: setup
	@if [ -n "$$DATABASE_URL" ]; then echo "DATABASE_URL is set: reset-demo only resets the embedded SQLite demo under instance/"; exit 1; fi
	rm -f instance/marketplace.sqlite3
	rm -rf instance/uploads
	$(MAKE) seed

run: seed
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: setup browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

worker: setup
	$(BIN)/celery -A wsgi:celery worker --beat --loglevel INFO

bench: setup
	$(BIN)/python bench/matching.py --quick
	$(BIN)/python bench/verify_sweep.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/checkin.py
	$(BIN)/python bench/kpis.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/rate.py

freeze:
	$(BIN)/pip freeze

clean:
	rm -rf $(VENV) instance test-output .pytest_cache
