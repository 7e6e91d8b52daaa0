"""Trajectory files round-trip through JSON; undefined numbers become null; foreign files are refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fmsbench.metrics import Taus
from fmsbench.replay.trajectory import RunMeta, StepRecord, Trajectory, TrajectoryError, trajectory_path


def _trajectory() -> Trajectory:
    meta = RunMeta("dyhpo", "hubs/x.h5", "x", "abc", "main", 3, 10, [5, 10], {"n_initial": 20}, "0.1.0",
                   0.9, 0.4, 40, 10, "2025-01-01T00:00:00+00:00", 1.5)
    taus = Taus(final=0.25, forecast=math.nan, protocol=0.5, next=0.1)
    steps = [StepRecord(1, 4, 1, 1, 1, 1.2, 0.5, 0.5, 0.49, 0.4, 0.8, 0.0),
             StepRecord(2, 5, 1, 1, 2, 2.4, 0.6, 0.6, 0.59, 0.3, 0.6, 0.01, taus)]
    return Trajectory(meta, steps, {5: taus, 10: None})


def test_round_trip(tmp_path: Path) -> None:
    path = trajectory_path(tmp_path, "x", "main", "dyhpo", 3)
    assert path == tmp_path / "x" / "main" / "dyhpo" / "seed3.json"
    _trajectory().save(path)
    loaded = Trajectory.load(path)
    assert loaded.meta == _trajectory().meta
    assert loaded.tau_at(5) == 0.25 and loaded.tau_at(5, "protocol") == 0.5 and loaded.tau[10] is None
    assert math.isnan(loaded.tau_at(5, "forecast")) and math.isnan(loaded.tau_at(10)) and math.isnan(loaded.tau_at(7))
    assert loaded.steps[0] == _trajectory().steps[0] and loaded.steps[1].tau.next == 0.1
    text = path.read_text()
    assert '"forecast": null' in text and '"tau": null' in text and "NaN" not in text  # undefined taus are null
    assert loaded.column("cum_epochs") == [1, 2]


@pytest.mark.parametrize("text, message", [("{", "not a readable"), ('{"format": "other"}', "not an fmsbench"),
                                           ('{"format": "fmsbench-trajectory", "format_version": 9}', "version 9")])
def test_bad_files(text: str, message: str) -> None:
    with pytest.raises(TrajectoryError, match=message):
        Trajectory.from_json(text)


def _edited(tmp_path: Path, edit) -> Path:  # noqa: ANN001
    path = tmp_path / "seed0.json"
    data = json.loads(_trajectory().to_json())
    edit(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["steps"][1].update(epoch="1"), r"steps\[1\]: epoch: expected int, got '1'"),
    (lambda d: d["steps"][0].update(regret=[0.1]), r"steps\[0\]: regret: expected float"),
    (lambda d: d["steps"][0].update(config=None), r"steps\[0\]: config: expected int, got nan"),
    (lambda d: d["steps"][0].update(extra=1), r"steps\[0\]: unknown key\(s\) extra"),
    (lambda d: d["steps"][1]["tau"].update(final="high"), r"steps\[1\]: tau: final: expected float"),
    (lambda d: d["meta"].update(seed="3"), "meta: seed: expected int"),
    (lambda d: d["meta"].update(tau_budgets=[5, "x"]), r"meta: tau_budgets\[1\]: expected int"),
    (lambda d: d["meta"].pop("task"), "meta: missing required key.*task"),
    (lambda d: d["tau"].update({"five": None}), "budget 'five' is not a whole number"),
    (lambda d: d.update(steps={}), "steps: expected a list"),
    (lambda d: d.update(steps=[]), "has no steps"),
])
def test_a_mistyped_trajectory_is_refused_in_one_line(tmp_path: Path, edit, message: str) -> None:  # noqa: ANN001
    with pytest.raises(TrajectoryError, match=message) as error:
        Trajectory.load(_edited(tmp_path, edit))
    assert "\n" not in str(error.value)


def test_a_trajectory_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seed0.json"
    path.write_bytes(b'{"format": "fmsbench-trajectory\xff"}')
    with pytest.raises(TrajectoryError, match="is not UTF-8 text"):
        Trajectory.load(path)
