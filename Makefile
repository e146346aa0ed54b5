# The README's two commands: `make run` and `make test`. Each creates .venv when missing.
# `make run` installs what running needs; `make test` adds the test tools (the [test] extra).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-test

.PHONY: run test lint types domain unit bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/upgradebot run

test: $(STAMP) lint types domain unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy bot commands checks storage

# bot/domain/ is the pure core: every line of it is covered by its own tests.
domain: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/domain --cov=bot.domain \
		--cov-report=term-missing:skip-covered --cov-fail-under=100

unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/ack_latency.py
	$(BIN)/python bench/precheck.py
	$(BIN)/python bench/night.py
	$(BIN)/python bench/night_faults.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/metrics.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
