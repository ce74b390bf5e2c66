# hotline: `make run` serves the whole system on the embedded default; `make test` passes the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench soak train lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,dev,bench]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## set up and run everything in one process (SQLite, no broker, demo departments)
	$(BIN)/hotline dev --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

test: $(STAMP)  ## install and run the whole suite (starts its own Kafka-protocol broker)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## print throughput, latency and memory figures (never fails on speed)
	$(BIN)/python -m bench.run

soak: $(STAMP)  ## N minutes of messages through real processes with faults injected; prints lost/duplicated
	$(BIN)/python -m bench.soak --minutes $${MINUTES:-3}

train: $(STAMP)  ## train the routing models from ../shared/data into HOTLINE_MODEL_DIR; judge type on both held-out sets
	$(BIN)/hotline train --data ../shared/data/citizen_messages_train.csv --target topic
	$(BIN)/hotline train --target type --shared-dir ../shared/data
	$(BIN)/hotline eval --target type --shared-dir ../shared/data

lint: $(STAMP)
	$(BIN)/ruff check src channels tests
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) hotline.db* var .pytest_cache
