# One command each: `make demo` (offline end-to-end run) and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORE := $(VENV)/.installed-core
DEMO := results/demo
export PIP_DISABLE_PIP_VERSION_CHECK := 1
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: install install-core demo test test-slow check bench clean

install: $(STAMP)
install-core: $(CORE)

# What fmsbench itself needs (the demo), with torch pinned to the pair in constraints.txt.
$(CORE): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e . 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(BIN)/python -c "import fmsbench, torch, torchvision, timm, torch_geometric, gpytorch"
	touch $(CORE)

# Every extra the tests exercise (ray, optuna, syne-tune) on top.
$(STAMP): $(CORE)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,ray,optuna,syne-tune]' 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(BIN)/python -c "import ray, optuna, cmaes, syne_tune, fastparquet, huggingface_hub"
	touch $(STAMP)

# Build a small offline PTM hub, replay the main methods on both of its tasks, print the report, write the page
# (2 seeds, 40 epochs: with 3 seeds and 50 epochs a fresh clone's demo took 12 min 34 s, past the 10-minute target).
demo: install-core
	$(BIN)/fmsbench build-hub ptm-demo
	$(BIN)/fmsbench hub info hubs/ptm-demo.h5
	$(BIN)/fmsbench run --method random,gp,hyperband,dyhpo,fms-gmn --hub hubs/ptm-demo.h5 --task all \
		--seeds 0-1 --budget 40 --tau-budgets 30,40 --jobs 2 --out $(DEMO)
	$(BIN)/fmsbench report $(DEMO) --budgets 30,40 --html $(DEMO)/report.html

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

# The CI regression gate: rerun the small `ci` experiment and compare with the committed baseline.
check: install
	$(BIN)/fmsbench check --baseline results/baseline.json

bench: install
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/fmsbench build-hub ptm-demo
	$(BIN)/python benchmarks/bench_isolation.py --hub hubs/ptm-demo.h5

clean:
	rm -rf hubs/*.h5 hubs/*.shards results/*/ .pytest_cache
