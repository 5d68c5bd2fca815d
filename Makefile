# LeadHub: `make run` and `make test` set everything up on a fresh machine (Python 3.11 + make).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
# make run is a development server: DEBUG on unless the caller says otherwise.
DEV := DEBUG=$${DEBUG:-true}
N ?= 100000

.PHONY: install run test e2e bench load fuzz migrate clean-data

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(DEV) $(PY) manage.py migrate_schemas --noinput
	$(DEV) $(PY) manage.py createcachetable

run: migrate
	$(DEV) $(PY) manage.py bootstrap_demo
	@echo "LeadHub is starting: open http://demo.localhost:8000/ (Ctrl-C stops it)"
	@$(DEV) bash -c 'trap "kill 0" EXIT; $(PY) manage.py qcluster & $(PY) manage.py runserver 0.0.0.0:8000'

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: migrate
	$(PY) -m tests.bench.run --n $(N)

load: migrate
	$(PY) -m tests.load.run

# Schema fuzzing with many more generated examples per operation than `make test` runs.
FUZZ_EXAMPLES ?= 200
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/hardening/test_schema_fuzz.py $(PYTEST_ARGS)

clean-data:
	rm -rf .data
