"""Runs are reproducible from their seed, skipped when finished, and refuse to mix hub builds or setups."""

from __future__ import annotations

from pathlib import Path

import pytest
from hubfakes import make_synthetic_hub

from fmsbench.errors import FmsbenchError, UnknownNameError
from fmsbench.hub.store import HubFile
from fmsbench.replay.trajectory import Trajectory, TrajectoryError, without_timing
from fmsbench.runs.runner import parse_int_list, parse_settings, plan_runs, resolve_tasks, run_all

FAST = {"n_initial": "4", "fit_steps": "30", "refine_steps": "5"}


def test_parse_lists() -> None:
    assert parse_int_list("0-4", "seeds") == [0, 1, 2, 3, 4]
    assert parse_int_list("5,0-1,5", "seeds") == [0, 1, 5]
    assert parse_settings(["n_initial=3", " fit_steps = 10 "]) == {"n_initial": "3", "fit_steps": "10"}
    with pytest.raises(FmsbenchError, match="cannot read seeds"):
        parse_int_list("a-b", "seeds")
    with pytest.raises(FmsbenchError, match="the seeds range '3-1' is reversed; write '1-3'"):
        parse_int_list("0,3-1", "seeds")
    with pytest.raises(FmsbenchError, match="cannot read seeds"):
        parse_int_list("-1", "seeds")  # seeds are not negative
    with pytest.raises(FmsbenchError, match="KEY=VALUE"):
        parse_settings(["n_initial"])


def test_tasks(two_task_hub: Path, synth_hub: Path) -> None:
    with HubFile(two_task_hub) as two, HubFile(synth_hub) as one:
        assert resolve_tasks(two, "all") == ["alpha", "beta"]
        assert resolve_tasks(one, None) == ["main"]
        assert resolve_tasks(two, None) == ["alpha", "beta"]  # no task named: all of them
        assert resolve_tasks(two, "beta") == ["beta"]
        with pytest.raises(FmsbenchError, match="its tasks are: alpha, beta"):
            resolve_tasks(two, "gamma")


def test_unknown_method_and_setting(synth_hub: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="unknown method 'nope'; choose one of: random, gp, dyhpo"):
        plan_runs("random,nope", synth_hub, None, [0], 10, tmp_path)
    with pytest.raises(UnknownNameError, match="no chosen method has a setting 'fit_steps'"):
        plan_runs("random", synth_hub, None, [0], 10, tmp_path, overrides={"fit_steps": "3"})


def test_same_seed_same_trajectory_and_rerun_skips(synth_hub: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        specs = plan_runs("dyhpo,gp", synth_hub, None, [0, 1], 12, out, (6, 12), FAST).specs
        outcome = run_all(specs)
        assert len(outcome.written) == 4 and not outcome.skipped
    for method in ("dyhpo", "gp"):
        runs = [without_timing(out / "synth" / "main" / method / f"seed{s}.json")
                for out in (first, second) for s in (0, 1)]
        assert runs[0] == runs[2] and runs[1] == runs[3]  # same seed, separate runs: identical
        assert runs[0]["steps"] != runs[1]["steps"]  # different seeds differ
        assert all(-1 <= t["final"] <= 1 for t in runs[0]["tau"].values() if t is not None and t["final"] is not None)
    again = run_all(plan_runs("dyhpo,gp", synth_hub, None, [0, 1], 12, first, (6, 12), FAST).specs)
    assert len(again.skipped) == 4 and not again.written


def test_existing_run_with_other_setup_is_an_error(synth_hub: Path, tmp_path: Path) -> None:
    run_all(plan_runs("random", synth_hub, None, [0], 10, tmp_path).specs)
    with pytest.raises(TrajectoryError, match="different budget"):
        run_all(plan_runs("random", synth_hub, None, [0], 20, tmp_path).specs)
    other = make_synthetic_hub(tmp_path / "rebuilt.h5", n_configs=30)  # same hub name, different build
    with pytest.raises(TrajectoryError, match="different hub fingerprint"):
        run_all(plan_runs("random", other, None, [0], 10, tmp_path).specs)


def test_parallel_jobs_match_serial(two_task_hub: Path, tmp_path: Path) -> None:
    serial = run_all(plan_runs("random", two_task_hub, "all", [0, 1], 8, tmp_path / "serial").specs)
    progress: list[tuple[str, int]] = []
    parallel = run_all(plan_runs("random", two_task_hub, "all", [0, 1], 8, tmp_path / "parallel").specs, jobs=2,
                       on_progress=lambda label, done: progress.append((label, done)))
    assert len(serial.written) == len(parallel.written) == 4
    assert {label for label, _ in progress} == {f"random {t} seed{s}" for t in ("alpha", "beta") for s in (0, 1)}
    for spec in serial.written:
        twin = tmp_path / "parallel" / spec.path.relative_to(tmp_path / "serial")
        assert without_timing(spec.path) == without_timing(twin)
    assert Trajectory.load(serial.written[0].path).meta.settings == {}


def test_a_method_a_module_registered_is_refused_isolated_and_runs_unisolated(
        synth_hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fmsbench.methods import METHODS
    from fmsbench.methods.random_search import random_search

    for table in ("_entries", "_meta", "_origins"):  # registered for this test only
        monkeypatch.setattr(METHODS, table, dict(getattr(METHODS, table)))
    METHODS.register("module-random", summary="random search, registered by a test module")(random_search)
    with pytest.raises(FmsbenchError, match="registered by module .*cannot load; put it in a plugin file"):
        plan_runs("module-random", synth_hub, None, [0], 4, tmp_path)
    specs = plan_runs("module-random", synth_hub, None, [0], 4, tmp_path, (4,), isolate=False).specs
    assert len(run_all(specs).written) == 1
