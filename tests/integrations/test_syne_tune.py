"""An existing Syne Tune scheduler tunes a hub as a tabular benchmark through the replay loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.replay import replay

pytest.importorskip("syne_tune")
from syne_tune.optimizer.baselines import ASHA  # noqa: E402

from fmsbench.integrations.syne_tune import METRIC, RESOURCE, config_space, tune  # noqa: E402


def test_a_users_asha_runs_as_the_method_does(synth_hub: Path) -> None:
    scheduler = ASHA(config_space(synth_hub), metric=METRIC, time_attr=RESOURCE, max_t=10, random_seed=0)
    result = tune(scheduler, synth_hub, budget=60, seed=0)
    assert result.steps[-1].cum_epochs == 60
    with Benchmark(synth_hub) as bench:
        method = replay(METHODS.get("syne-tune-asha")(0), bench, 60)
    assert [(s.config, s.epoch) for s in result.steps] == [(s.config, s.epoch) for s in method.steps]
