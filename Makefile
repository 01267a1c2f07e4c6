# placehub: `make demo` runs the hub on the Rutland demo; `make test` runs the whole suite.
# Both create .venv and install what they need on first use.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV ?= .venv
BIN = $(VENV)/bin
PYTEST_ARGS ?=
# The suite runs on one worker more than the machine has cores (pytest-xdist; each worker has its
# own SQLite files and PostgreSQL database): it waits on PostgreSQL, brokers, browsers and the
# processes it starts much of the time. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= $(shell python3 -c 'import os; print((os.cpu_count() or 1) + 1)')

.PHONY: setup assets demo serve test lint bench bench-big clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "placehub needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# Web UI assets: npm packages from package-lock.json, built into src/placehub/web/static/build/.
NODE_STAMP = node_modules/.placehub-installed
ASSETS_STAMP = src/placehub/web/static/build/BUILT

$(NODE_STAMP): package-lock.json
	@command -v npm >/dev/null || { echo "placehub's web UI needs Node.js 18+ and npm on PATH"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

$(ASSETS_STAMP): $(NODE_STAMP) scripts/build-assets.mjs src/placehub/web/assets/placehub.scss
	npm run --silent build

assets: $(ASSETS_STAMP)

setup: $(VENV)/.installed $(ASSETS_STAMP)

# DEMO_ARGS are passed on, e.g. make demo DEMO_ARGS=--build-only
DEMO_ARGS ?=
demo: setup
	$(BIN)/placehub demo $(DEMO_ARGS)

serve: setup
	$(BIN)/placehub serve

test: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=25 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The quick benchmarks; `make bench-big` adds the 10-million-Observation reads (generates the
# store once into var/bench/, about three minutes per database, 1.5 GB).
BENCH_PG ?= postgresql://root@127.0.0.1:5432/test
bench: setup
	$(BIN)/python bench/bench_sta_core.py
	$(BIN)/python bench/bench_sta_query.py write sqlite:///var/bench/write.sqlite3
	$(BIN)/python bench/bench_sta_query.py write $(BENCH_PG)
	$(BIN)/python bench/bench_sta_spatial.py --postgres $(BENCH_PG)
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_codecs.py
	$(BIN)/python bench/bench_alerts.py
	$(BIN)/python bench/bench_road_matrix.py
	$(BIN)/python bench/bench_rounds.py
	$(BIN)/python bench/bench_insight.py
	$(BIN)/python bench/bench_access.py
	PYTHONPATH=. $(BIN)/python bench/bench_web.py --assets 10000 --repeats 3
	PYTHONPATH=. $(BIN)/python bench/bench_downloads.py --assets 10000 --repeats 3

bench-big: setup
	test -f var/bench/big.sqlite3 || $(BIN)/python bench/generate.py sqlite:///var/bench/big.sqlite3
	$(BIN)/python bench/bench_sta_query.py read sqlite:///var/bench/big.sqlite3

clean:
	rm -rf $(VENV) var node_modules src/placehub/web/static/build
