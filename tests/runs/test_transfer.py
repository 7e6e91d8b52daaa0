"""Meta-training on source tasks (the generalisation experiment's transfer protocol) and warm-started runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fmsbench.errors import FmsbenchError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.replay.observation import Observation
from fmsbench.runs.experiment import experiment_trajectories, load_experiment, run_experiment
from fmsbench.runs.transfer import meta_train

FAST = {"n_initial": "3", "fit_steps": "10", "refine_steps": "2"}


def test_meta_training_saves_a_state_and_its_protocol(tiny_ptm_hub: Path, tmp_path: Path) -> None:
    state = meta_train("dyhpo", tiny_ptm_hub, ["digits"], tmp_path, exclude_arch="vit", configs_per_task=4,
                       steps=15, seed=1, overrides=FAST)
    protocol = json.loads(state.with_suffix(".json").read_text())
    assert protocol["source_tasks"] == ["digits"] and protocol["exclude_arch"] == "vit"
    with Benchmark(tiny_ptm_hub, "digits") as bench:
        chosen = protocol["configs"]["digits"]
        assert len(chosen) == 4 and "vit" not in set(bench.configs["arch"].iloc[chosen])
    modified = state.stat().st_mtime_ns
    again = meta_train("dyhpo", tiny_ptm_hub, ["digits"], tmp_path, exclude_arch="vit", configs_per_task=4,
                       steps=15, seed=1, overrides=FAST)
    assert again == state and state.stat().st_mtime_ns == modified, "the same protocol is not trained twice"

    with Benchmark(tiny_ptm_hub, "shapes") as bench:  # the target task: a fresh surrogate starts from the state
        method = METHODS.get("dyhpo")(0, warm_start=str(state), **FAST)
        surrogate = method.new_surrogate(Observation(bench, np.zeros(bench.n_configs, np.int64), 10))
    saved = torch.load(state, weights_only=True)
    for name, tensor in surrogate.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    fresh = METHODS.get("dyhpo")(0, **FAST)
    with Benchmark(tiny_ptm_hub, "shapes") as bench:
        untrained = fresh.new_surrogate(Observation(bench, np.zeros(bench.n_configs, np.int64), 10)).state_dict()
    assert any(not torch.equal(untrained[name], saved[name]) for name in saved), "meta-training changed nothing"


def test_transfer_errors_are_one_line(tiny_ptm_hub: Path, tmp_path: Path) -> None:
    with pytest.raises(FmsbenchError, match="exclude_arch 'mlp' is not an architecture"):
        meta_train("dyhpo", tiny_ptm_hub, ["digits"], tmp_path, exclude_arch="mlp", steps=1, overrides=FAST)
    with pytest.raises(FmsbenchError, match="'random' has none"):
        meta_train("random", tiny_ptm_hub, ["digits"], tmp_path, steps=1)
    state = meta_train("dyhpo", tiny_ptm_hub, ["digits"], tmp_path, configs_per_task=3, steps=2, overrides=FAST)
    mismatched = METHODS.get("dyhpo-nocnn")(0, warm_start=str(state), **FAST)
    with Benchmark(tiny_ptm_hub, "shapes") as bench, pytest.raises(FmsbenchError, match="does not fit this method"):
        mismatched.new_surrogate(Observation(bench, np.zeros(bench.n_configs, np.int64), 10))


def test_generalisation_arms_run_side_by_side(tiny_ptm_hub: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "transfer.toml"
    arm = f'''hub = "{tiny_ptm_hub}"
methods = ["fms-gmn"]
tasks = ["shapes"]
seeds = "0"
budget = 8
tau_budgets = [8]
settings = {{ n_initial = 3, fit_steps = 10, refine_steps = 2 }}
'''
    recipe.write_text(f'''name = "transfer"
description = "tiny transfer"
[[arms]]
{arm}
[[arms]]
label = "transfer"
transfer = {{ source_tasks = ["digits"], configs_per_task = 4, steps = 5 }}
{arm}''')
    experiment = load_experiment(recipe)
    run_experiment(experiment, tmp_path / "results")
    methods = {t.meta.method: t for t in experiment_trajectories(experiment, tmp_path / "results")}
    assert set(methods) == {"fms-gmn", "fms-gmn [transfer]"}
    warm = methods["fms-gmn [transfer]"].meta.settings["warm_start"]
    assert warm and Path(warm).is_file() and (tmp_path / "results" / "arms" / "transfer" / "transfer") in Path(warm).parents
    assert methods["fms-gmn"].meta.settings["warm_start"] is None
