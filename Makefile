# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := app.py
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test bench bench-full clean

$(STAMP): requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

## make run: create the venv, the SQLite database with demo data, and serve the app
run: export ACCORD_BASE_URL ?= http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/flask seed-demo
	@echo ""
	@echo "Accord is at http://$(HOST):$(PORT)/ — sign in with one of the demo accounts above."
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## make test: the whole suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL names one,
## each spread over one process a core (pytest-xdist; TEST_WORKERS=0 runs it in this one)
TEST_WORKERS ?= auto
test: $(STAMP)
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -n $(TEST_WORKERS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL: $$TEST_DATABASE_URL"; \
		$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not browser"; \
	fi

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/pip install --quiet -r requirements-bench.txt
	@command -v wrk >/dev/null 2>&1 || echo "note: the HTTP benchmark needs wrk (apt-get install wrk); it is skipped without it"
	touch $(BENCH_STAMP)

## make bench: the benchmarks at their small default size (make bench-full for the README figures)
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

bench-full: $(BENCH_STAMP)
	$(BIN)/python -m bench --full

clean:
	rm -rf $(VENV) instance/*.sqlite3*
