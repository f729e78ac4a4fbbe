# chronorag: `make run` and `make test` work on a fresh machine (Python 3.11+).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install run test lint typecheck bench eval faults clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first and pinned: unpinned, pip pulls a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(VENV)/bin/chronorag serve

test: install
	$(VENV)/bin/pytest

# Only the fault suite (kill -9, lost queue, crashed consumer, API fuzz); `make test` runs it too.
faults: install
	$(VENV)/bin/pytest -m faults

lint: install
	$(VENV)/bin/ruff check app graph workers tests bench
	$(VENV)/bin/ruff format --check app graph workers tests bench
	$(VENV)/bin/mypy app graph workers

bench: install
	$(PY) -m bench.run_all

eval: install
	$(PY) bench/eval_temporal_qa.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
