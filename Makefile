# Two targets a new machine needs: `make demo` and `make test`. Each builds .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: the dev extra pulls sentence-transformers, which would
	# otherwise fetch a multi-GB CUDA build (docs/vectors.md says how a GPU user installs).
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The demo keeps its state in demo.sqlite3, which the README's snippets read.
demo: $(STAMP)
	$(BIN)/reclio demo --state demo.sqlite3

lint: $(STAMP)
	$(BIN)/ruff check reclio tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint docs
	CI=$${CI:-} $(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/feeds_build.py

clean:
	rm -rf $(VENV) site demo.sqlite3 demo.sqlite3-wal demo.sqlite3-shm demo.sqlite3.reclio .mypy_cache .ruff_cache .pytest_cache .hypothesis
