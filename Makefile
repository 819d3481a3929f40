# The two commands of a newcomer: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 8000

.PHONY: run test install system demo lint bench clean i18n

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

system:
	bash scripts/bootstrap-system.sh

## Runs the cabinet on embedded defaults (SQLite, var/blobs, Celery eager) with a demo world.
## HOST and PORT go to the processes too: without BASE_URL, e-mail links point there.
run: export HOST := $(HOST)
run: export PORT := $(PORT)
run: install
	$(BIN)/docflow db upgrade
	$(BIN)/docflow demo
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 1 --threads 8 --access-logfile - 'wsgi:app'

## Installs everything the tests need and runs the whole suite.
test: install system
	$(BIN)/ruff format --check docflow signing storage notifications netguard tests benchmarks scripts
	$(BIN)/ruff check docflow signing storage notifications netguard tests benchmarks scripts
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check_cycles.py
	$(BIN)/python scripts/check_access.py
	$(BIN)/mypy storage notifications signing netguard
	$(BIN)/mypy --follow-imports=silent docflow
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: install system
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var/*.sqlite3 var/blobs var/outbox

## Re-extracts the interface strings and compiles the catalogues (Russian msgids, English catalogue).
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -o var/messages.pot --no-location .
	$(BIN)/pybabel update -i var/messages.pot -d docflow/translations
	$(BIN)/pybabel compile -d docflow/translations
