"""optuna-* methods: Optuna's samplers and pruners on a hub through ask/tell, every epoch paid by the replay loop,
the study recording what was trained; the search space and its snapping to untrained configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.methods.optuna_samplers import CONFIG_ATTR, OptunaSearch
from fmsbench.methods.optuna_space import HubSearchSpace
from fmsbench.replay import replay
from fmsbench.replay.loop import ReplayResult
from fmsbench.runs.runner import seeded_torch

optuna = pytest.importorskip("optuna")
from optuna.distributions import CategoricalDistribution, FloatDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

FULL = ["optuna-random", "optuna-tpe", "optuna-cmaes", "optuna-qmc", "optuna-gp"]
PRUNED = ["optuna-tpe-sha", "optuna-tpe-hyperband"]


def run(name: str, hub: Path, budget: int, seed: int = 0, **settings: object) -> tuple[ReplayResult, OptunaSearch]:
    method = METHODS.get(name)(seed, **settings)
    with Benchmark(hub) as bench, seeded_torch(seed):
        return replay(method, bench, budget), method


def pairs(result: ReplayResult) -> list[tuple[int, int]]:
    return [(s.config, s.epoch) for s in result.steps]


@pytest.mark.parametrize("name", FULL + PRUNED)
def test_every_sampler_spends_the_budget_reproducibly_and_records_what_it_trained(name: str, synth_hub: Path) -> None:
    if name == "optuna-cmaes":
        pytest.importorskip("cmaes")
    budget = 150  # 40 configs x 10 epochs: past the samplers' 10 startup trials
    (result, method), (again, _) = run(name, synth_hub, budget, n_startup_trials=4), \
        run(name, synth_hub, budget, n_startup_trials=4)
    assert result.steps[-1].cum_epochs == budget
    assert pairs(result) == pairs(again)
    assert pairs(result) != pairs(run(name, synth_hub, budget, seed=1, n_startup_trials=4)[0])
    study = method.study
    with Benchmark(synth_hub) as bench:
        space = HubSearchSpace(bench.search_space, bench.configs)
        told = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        assert len(told) >= 10
        for trial in told:  # the study learns from the config that was trained, not from the sampled point
            config = trial.user_attrs[CONFIG_ATTR]
            assert trial.params == space.params(config)
            curve = bench.curve(config)
            last = max(trial.intermediate_values)
            assert trial.intermediate_values == {e: pytest.approx(float(curve[e])) for e in range(1, last + 1)}
            if trial.state == TrialState.COMPLETE:
                assert last == bench.max_epoch and trial.value == pytest.approx(float(curve[-1]))
    started = [t.user_attrs[CONFIG_ATTR] for t in study.trials if CONFIG_ATTR in t.user_attrs]
    assert len(started) == len(set(started))  # a config is started once
    assert {t.state for t in study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL,
                                               TrialState.RUNNING}


def test_without_a_pruner_a_trial_asks_for_the_max_epoch_with_one_one_epoch_at_a_time(synth_hub: Path) -> None:
    full, _ = run("optuna-tpe", synth_hub, 60)
    assert all(s.epoch == 10 for s in full.steps[:-1])
    pruned, method = run("optuna-tpe-sha", synth_hub, 60)
    assert all(s.cost == 1 for s in pruned.steps)
    states = [t.state for t in method.study.trials]
    assert TrialState.PRUNED in states  # successive halving stopped some configs early


def test_search_space_and_snapping(synth_hub: Path) -> None:
    with Benchmark(synth_hub) as bench:
        space = HubSearchSpace(bench.search_space, bench.configs)
        assert space.distributions["model"] == CategoricalDistribution([0, 1, 2])
        assert space.distributions["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
        assert space.distributions["momentum"] == FloatDistribution(0.1, 0.9)
        everyone = np.arange(bench.n_configs)
        for config in (0, 7, 39):  # a config's own point snaps to it; without it, to another config
            assert space.nearest(space.params(config), everyone) == config
            assert space.nearest(space.params(config), everyone[everyone != config]) != config
        point = {**space.params(5), "lr": space.params(5)["lr"] * 1.01}
        assert space.nearest(point, everyone) == 5
