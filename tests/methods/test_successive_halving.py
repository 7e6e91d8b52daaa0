"""Hyperband and ASHA (and the bandit family with BOHB): schedules, continuation, promotions, reproducible replays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hubfakes import make_synthetic_hub
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.errors import FmsbenchError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.methods.successive_halving import hyperband_schedule
from fmsbench.replay import replay

# Li et al. 2018 (arXiv 1603.06560), Table 1: (n_i, r_i) per bracket s = 4..0 for R = 81, eta = 3.
LI_TABLE_1 = [
    [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    [(34, 3), (11, 9), (3, 27), (1, 81)],
    [(15, 9), (5, 27), (1, 81)],
    [(8, 27), (2, 81)],
    [(5, 81)],
]
# The same algorithm for R = 27 (s_max = 3, B = 4R): the schedule the replay test runs.
R27 = [
    [(27, 1), (9, 3), (3, 9), (1, 27)],
    [(12, 3), (4, 9), (1, 27)],
    [(6, 9), (2, 27)],
    [(4, 27)],
]
R27_CYCLE_EPOCHS = 81 + 78 + 90 + 108  # with continuation: bracket s = 3 costs 27*1 + 9*2 + 3*6 + 1*18 = 81, ...


@pytest.fixture(scope="module")
def deep_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """52 configs x 27 epochs: one full Hyperband cycle (49 configs) fits."""
    return make_synthetic_hub(tmp_path_factory.mktemp("hubs") / "deep.h5", n_configs=52, max_epoch=27, name="deep")


def test_schedule_matches_the_published_table() -> None:
    assert hyperband_schedule(1, 81, 3) == LI_TABLE_1
    assert hyperband_schedule(1, 27, 3) == R27
    assert hyperband_schedule(3, 81, 3) == [[(n, 3 * r) for n, r in bracket] for bracket in R27]  # R = 81 / 3
    assert hyperband_schedule(1, 2, 3) == [[(1, 2)]]  # R < eta: one bracket, random search
    assert hyperband_schedule(1, 10, 3)[0] == [(9, 1), (3, 3), (1, 10)]  # not a power of eta: rounded, top = max


def test_hyperband_runs_each_bracket_with_continuation(deep_hub: Path) -> None:
    with Benchmark(deep_hub) as bench:
        steps = replay(METHODS.get("hyperband")(0), bench, R27_CYCLE_EPOCHS).steps
        val = bench.all_curves("val_acc")
    assert steps[-1].cum_epochs == R27_CYCLE_EPOCHS
    position, started = 0, []
    for bracket in R27:
        previous: list[int] = []
        for rung, (n, epoch) in enumerate(bracket):
            chunk = steps[position:position + n]
            position += n
            assert [s.epoch for s in chunk] == [epoch] * n
            configs = [s.config for s in chunk]
            if rung == 0:
                assert [s.cost for s in chunk] == [epoch] * n
                started += configs
            else:  # the top n of the previous rung, each paying only the extra epochs
                last = bracket[rung - 1][1]
                assert sorted(configs) == sorted(sorted(previous, key=lambda c: -val[c, last])[:n])
                assert [s.cost for s in chunk] == [epoch - last] * n
            previous = configs
    assert position == len(steps) and len(set(started)) == len(started) == 49


def _asha_expected(rungs: list[list[int]], promoted: list[set[int]], val: np.ndarray, epochs: list[int],
                   eta: int) -> tuple[int, int] | None:
    """ASHA's rule, restated: the best unpromoted config of the top 1/eta of the highest possible rung."""
    for k in reversed(range(len(epochs) - 1)):
        top = sorted(rungs[k], key=lambda c: -val[c, epochs[k]])[: len(rungs[k]) // eta]
        for config in top:
            if config not in promoted[k]:
                return config, epochs[k + 1]
    return None  # start a new config at the bottom rung


def test_asha_promotes_exactly_the_top_of_each_rung(deep_hub: Path) -> None:
    eta, epochs = 3, [1, 3, 9, 27]
    with Benchmark(deep_hub) as bench:
        steps = replay(METHODS.get("asha")(5), bench, 150).steps  # before all 52 configs are started
        val = bench.all_curves("val_acc")
    rungs: list[list[int]] = [[] for _ in epochs]
    promoted: list[set[int]] = [set() for _ in epochs]
    trained: dict[int, int] = {}
    new_configs = 0
    for step in steps[:-1]:  # the last step may be truncated by the budget
        expected = _asha_expected(rungs, promoted, val, epochs, eta)
        if expected is None:
            assert step.config not in trained and step.epoch == 1
            rungs[0].append(step.config)
            new_configs += 1
        else:
            assert (step.config, step.epoch) == expected
            k = epochs.index(trained[step.config])
            promoted[k].add(step.config)
            rungs[k + 1].append(step.config)
        trained[step.config] = step.epoch
    assert new_configs < len(steps) - 1 and rungs[3]  # it both promoted and reached the max epoch


@pytest.mark.parametrize("name", ["hyperband", "asha", "bohb"])
@pytest.mark.parametrize("budget", [37, 400])
def test_replay_spends_the_budget_reproducibly(synth_hub: Path, name: str, budget: int) -> None:
    """400 epochs train the whole 40 x 10 hub: past the last untouched config, paused configs are continued."""
    with Benchmark(synth_hub) as bench:
        runs = [replay(METHODS.get(name)(seed), bench, budget).steps for seed in (0, 0, 1)]
    steps = runs[0]
    assert sum(s.cost for s in steps) == steps[-1].cum_epochs == budget
    assert [(s.config, s.epoch) for s in steps] == [(s.config, s.epoch) for s in runs[1]]
    assert [s.config for s in steps] != [s.config for s in runs[2]]
    reached: dict[int, int] = {}
    for step in steps:  # a valid step: ahead of b_c, within the max epoch, paying exactly the difference
        assert reached.get(step.config, 0) < step.epoch <= 10
        assert step.cost == step.epoch - reached.get(step.config, 0)
        reached[step.config] = step.epoch
        assert step.tau is None


def test_settings_are_typed_and_checked(synth_hub: Path) -> None:
    assert METHODS.get("hyperband")(0, eta="2").settings() == {"eta": 2, "min_epoch": 1, "max_epoch": None}
    assert METHODS.get("bohb")(0).settings()["random_fraction"] == pytest.approx(1 / 3)
    with pytest.raises(FmsbenchError, match="eta must be at least 2"):
        METHODS.get("asha")(0, eta="1")
    with pytest.raises(FmsbenchError, match="max_epoch must be in 1..10"):
        with Benchmark(synth_hub) as bench:
            replay(METHODS.get("hyperband")(0, max_epoch=11), bench, 5)
    with Benchmark(synth_hub) as bench:  # a lower max epoch caps every rung
        assert max(s.epoch for s in replay(METHODS.get("asha")(0, max_epoch="4"), bench, 40).steps) == 4


def test_cli_runs_the_bandits(synth_hub: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--method", "hyperband,asha,bohb", "--hub", str(synth_hub), "--seeds",
                                      "0", "--budget", "25", "--out", str(tmp_path), "--setting", "eta=2"])
    assert result.exit_code == 0, result.output
    assert "3 runs written" in result.output
    for name in ("hyperband", "asha", "bohb"):
        data = json.loads((tmp_path / "synth" / "main" / name / "seed0.json").read_text())
        assert data["meta"]["settings"]["eta"] == 2
        assert data["steps"][-1]["cum_epochs"] == 25 and all(s["tau"] is None for s in data["steps"])
