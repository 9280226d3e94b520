# Two commands a newcomer needs: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format types sqlcheck schema bench upgrade-dev clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m rawdb.demo $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check src tests tools
	$(PY) -m ruff format --check src tests tools

# Rewrite the code in the house style (what `lint` checks).
format: $(STAMP)
	$(PY) -m ruff check --fix src tests tools
	$(PY) -m ruff format src tests tools

types: $(STAMP)
	$(PY) -m mypy

sqlcheck: $(STAMP)
	$(PY) tools/sql_review.py

# Rewrite sql/schema.sql from the migrations (commit it with the migration that changed it).
schema: $(STAMP)
	$(PY) tools/sql_review.py --write-schema

# pytest exits 5 when it collected nothing; that is not a failure of the code.
test: lint types $(STAMP)
	$(PY) tools/sql_review.py
	$(PY) -m pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

bench: $(STAMP)
	$(PY) tools/bench.py $(ARGS)

# The dev tools are pinned in pyproject.toml; this lists the ones with a newer release.
upgrade-dev: $(STAMP)
	$(PY) -m pip list --outdated

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
