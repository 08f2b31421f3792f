# Yinqi: `make run` starts the hub with demo data; `make test` runs the whole suite.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: run test test-fast bench lint soak clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/yinqi demo

test: $(STAMP)
	@PG_URL=$$(YINQI_PG_FSYNC=off scripts/pg-test-server.sh) && \
	  YINQI_TEST_PG_URL=$$PG_URL $(BIN)/python -m pytest -q -p no:cacheprovider \
	    -n $${YINQI_TEST_WORKERS:-3} --dist loadscope $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -m "not e2e and not browser and not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	@PG_URL=$$(YINQI_PG_FSYNC=on YINQI_PG_PORT=$${YINQI_BENCH_PG_PORT:-54339} \
	  YINQI_PG_DIR=$${YINQI_BENCH_PG_DIR:-/tmp/yinqi-pg-bench} scripts/pg-test-server.sh) && \
	  YINQI_BENCH_PG_URL=$$PG_URL $(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench sandbox_bank
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache
