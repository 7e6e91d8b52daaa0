# One command each: `make demo` (offline end-to-end run) and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: install demo test test-slow bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]' 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(BIN)/python -c "import fmsbench, torch, torchvision, timm, torch_geometric, gpytorch"
	touch $(STAMP)

demo: install
	$(BIN)/fmsbench build-hub ptm-demo
	$(BIN)/fmsbench hub info hubs/ptm-demo.h5

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

bench: install
	$(BIN)/python benchmarks/bench_build.py

clean:
	rm -rf hubs/*.h5 hubs/*.shards results/*/ .pytest_cache
