# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## run: the demo server on SQLite (var/branchq.db), on http://127.0.0.1:8080, with four weeks of past days
run: $(STAMP)
	$(BIN)/branchq serve --demo --history-weeks 4

## lint: ruff over the tree, mypy over server, kiosk, counter and display (settings in pyproject.toml),
## and the domain and the services once more under mypy's own --strict
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/mypy --strict --no-warn-unused-configs -p server.domain
	$(BIN)/mypy --strict --no-warn-unused-configs -p server.services

## test: lint, then the whole suite (PostgreSQL tests use BRANCHQ_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
test: lint
	$(BIN)/pytest -q

## bench: issuance and call-next (SQLite, PostgreSQL), call-to-display latency, reports over 1M tickets,
## a simulated busy branch day, call-next with the notification webhook hanging
bench: $(STAMP)
	$(BIN)/python -m bench.issuance
	$(BIN)/python -m bench.displays
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.complaint_stats
	$(BIN)/python -m bench.simulate
	$(BIN)/python -m bench.notify
	$(BIN)/python -m bench.bookings

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
