"""An existing Optuna study tunes a hub as a tabular benchmark: its sampler and pruner decide, the replay loop
charges every epoch, the study records the trained configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmsbench.errors import FmsbenchError
from fmsbench.hub.benchmark import Benchmark

optuna = pytest.importorskip("optuna")
from fmsbench.integrations.optuna import tune  # noqa: E402


def test_a_study_with_a_pruner_tunes_a_hub(synth_hub: Path) -> None:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5),
                                pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=10),
                                study_name="users-study")
    result = tune(study, synth_hub, budget=120)
    assert result.steps[-1].cum_epochs == 120 and all(s.cost == 1 for s in result.steps)
    states = {t.state for t in study.trials}
    assert optuna.trial.TrialState.PRUNED in states and optuna.trial.TrialState.COMPLETE in states
    best = study.best_trial
    with Benchmark(synth_hub) as bench:
        assert best.value == pytest.approx(float(bench.curve(best.user_attrs["fmsbench_config"])[-1]))
        assert result.steps[-1].regret == pytest.approx(bench.best_val - result.steps[-1].incumbent_val)
    again = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5),
                                pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=10),
                                study_name="users-study")
    assert [(s.config, s.epoch) for s in tune(again, synth_hub, budget=120).steps] == \
        [(s.config, s.epoch) for s in result.steps]


def test_studies_it_cannot_run_are_one_line_errors(synth_hub: Path) -> None:
    with pytest.raises(FmsbenchError, match="must maximise one objective") as error:
        tune(optuna.create_study(direction="minimize"), synth_hub)
    assert error.value.parameters == ("study",)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"lr": 0.01})
    with pytest.raises(FmsbenchError, match="enqueued trials"):
        tune(study, synth_hub)
