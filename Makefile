# `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: install demo test test-fast test-slow test-corpus bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The distributed extra (Ray) is installed so its tests run too; `make demo` never imports it.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[test,distributed]'
	touch $@

install: $(VENV)/.installed

demo: install
	rm -rf .demo-store
	$(BIN)/ingest samples/ --config demo/config.yaml
	$(BIN)/ingest-query "What is LayoutParser used for?" -k 3 --config demo/config.yaml
	@echo "all-MiniLM-L6-v2 is an English model; for Chinese, register a multilingual one in config.yaml:"
	$(BIN)/ingest-query "项目的预算金额是多少？" -k 3 --config demo/config.yaml

test-fast: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

test-corpus: install
	$(BIN)/python -m pytest -q -m corpus

test: test-fast test-slow test-corpus

bench: install
	$(BIN)/python bench/ingest_speed.py

# Model comparison reports (eval-report/<dataset>/report.html) on the shared retrieval collections.
IR ?= ../shared/data/ir
eval: install
	$(BIN)/ingest-eval --dataset $(IR)/cranfield --models all --out eval-report/cranfield
	$(BIN)/ingest-eval --dataset $(IR)/cmrc2018_retrieval --models all --out eval-report/cmrc2018_retrieval

clean:
	rm -rf $(VENV) .store .demo-store .eval-cache eval-report .models
