"""syne-tune-* methods: Syne Tune's schedulers on a hub through their ask/tell calls; reproducible without touching
numpy's global generator; the same decisions as Syne Tune's own simulation of the exported hub."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hubfakes import make_synthetic_hub

from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.export import export_hub
from fmsbench.methods import METHODS
from fmsbench.replay import replay
from fmsbench.replay.loop import ReplayResult

pytest.importorskip("syne_tune")


def run(name: str, hub: Path, budget: int, seed: int = 0) -> ReplayResult:
    with Benchmark(hub) as bench:
        return replay(METHODS.get(name)(seed), bench, budget)


def first_reached(result: ReplayResult) -> list[tuple[int, int]]:
    """(config, last epoch reached) per config, in the order the configs were started."""
    reached: dict[int, int] = {}
    for step in result.steps:
        reached[step.config] = step.epoch
    return list(reached.items())


@pytest.mark.parametrize("name", ["syne-tune-random", "syne-tune-asha"])
def test_reproducible_and_leaves_numpy_global_state_alone(name: str, synth_hub: Path) -> None:
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first, again = run(name, synth_hub, 80), run(name, synth_hub, 80)
    assert np.array_equal(np.random.get_state()[1], before)
    assert [(s.config, s.epoch) for s in first.steps] == [(s.config, s.epoch) for s in again.steps]
    assert first.steps[-1].cum_epochs == 80 and all(s.cost == 1 for s in first.steps)
    assert first_reached(first) != first_reached(run(name, synth_hub, 80, seed=1))


def test_random_trains_each_config_to_the_end_and_asha_stops_some(synth_hub: Path) -> None:
    assert all(epoch == 10 for _, epoch in first_reached(run("syne-tune-random", synth_hub, 80))[:-1])
    assert any(epoch < 10 for _, epoch in first_reached(run("syne-tune-asha", synth_hub, 80))[:-1])


def test_asha_decides_as_syne_tunes_own_simulation_of_the_export(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Syne Tune's simulator on the exported blackbox and fmsbench's replay run the same ASHA on the same config
    space: they start the same configs in the same order and stop them at the same epochs, until Syne Tune
    suggests a config a second time (it reruns it from scratch; a hub config has one run, so fmsbench asks
    again). After its first 5 trials ASHA samples from numpy's global generator, which the method seeds with
    the run's seed: the simulation gets the same seed."""
    pytest.importorskip("fastparquet")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.blackbox_repository.blackbox_tabular import deserialize
    from syne_tune.optimizer.baselines import ASHA

    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path / "syne-tune"))
    hub = make_synthetic_hub(tmp_path / "wide.h5", n_configs=200, max_epoch=9, name="wide")
    blackbox = deserialize(str(export_hub(hub, "syne-tune", tmp_path / "export").out))["main"]
    scheduler = ASHA(blackbox.configuration_space, metric="metric_valid_error", time_attr="epoch", max_t=9,
                     random_seed=0)
    tuner = Tuner(trial_backend=UserBlackboxBackend(blackbox, elapsed_time_attr="metric_elapsed_time"),
                  scheduler=scheduler, stop_criterion=StoppingCriterion(max_num_trials_started=15), n_workers=1,
                  sleep_time=0, callbacks=[SimulatorCallback()], save_tuner=False, tuner_name="asha")
    outer = np.random.get_state()
    np.random.seed(0)
    try:
        tuner.run()
    finally:
        np.random.set_state(outer)
    results = pd.read_csv(Path(tuner.tuner_path) / "results.csv.zip")
    trials = results.groupby("trial_id").agg(config=("config_config", "first"), epoch=("epoch", "max"))
    syne_tune = list(zip(trials["config"].tolist(), trials["epoch"].tolist(), strict=True))
    repeated = next(i for i, (config, _) in enumerate(syne_tune) if config in [c for c, _ in syne_tune[:i]])
    assert repeated >= 5
    ours = first_reached(run("syne-tune-asha", hub, int(trials["epoch"].sum())))
    assert ours[:repeated] == syne_tune[:repeated]
