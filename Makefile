# chronorag: `make run` and `make test` work on a fresh machine (Python 3.11+).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install run test lint typecheck format bench bench-scale eval faults clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first and pinned: unpinned, pip pulls a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[server,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(VENV)/bin/chronorag serve

test: install
	$(VENV)/bin/pytest

# Only the fault suite (kill -9, lost queue, crashed consumer, API fuzz); `make test` runs it too.
faults: install
	$(VENV)/bin/pytest -m faults

SOURCES := app graph workers tests bench

lint: install typecheck
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check $(SOURCES)

# Strict on the service and the graph layer; workers/ stays at the default level because
# Celery's decorators and signals are untyped (strict would only add ignores there).
typecheck: install
	$(VENV)/bin/mypy --strict app graph
	$(VENV)/bin/mypy workers

format: install
	$(VENV)/bin/ruff check --fix $(SOURCES)
	$(VENV)/bin/ruff format $(SOURCES)

bench: install
	$(PY) -m bench.run_all

# The tiered embedded index at store level on synthetic vectors (bench/tiers.py): 100k by
# `python -m bench.tiers`, a million here (hours on 2 cores; bench/results/tiers-1000000.json).
bench-scale: install
	$(PY) -m bench.tiers --points 1000000

# CLARK-News, ECT-QA and TimeQA from ../shared/data, each on its own fresh server; one table,
# bench/results/eval.json. A subset: $(PY) bench/eval_temporal_qa.py --sets timeqa
eval: install
	$(PY) bench/eval_temporal_qa.py --sets clark-news,ect-qa,timeqa

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
