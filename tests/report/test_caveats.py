"""Degenerate setups are said before a run and in every report: budget within the initial design, budget beyond the
hub, tau budgets never reached."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.replay.trajectory import Trajectory
from fmsbench.report import build_report
from fmsbench.report.caveats import merge, setup_caveats

runner = CliRunner()


def test_setup_caveats() -> None:
    assert setup_caveats("gp", 100, [50, 100], {"n_initial": 20}, 48, 10) == []
    within = setup_caveats("gp", 20, [20], {"n_initial": 20}, 48, 10)
    assert len(within) == 1 and within[0].startswith("budget 20 <= its initial design (n_initial = 20")
    early = setup_caveats("gp", 50, [10, 25, 60], {"n_initial": 20}, 48, 10)
    assert early[0].startswith("tau budget(s) 10 <= n_initial = 20") and "60 beyond the budget 50" in early[1]
    assert setup_caveats("random", 100000, [], {}, 48, 10) == [
        "budget 100000 is beyond what the task can spend (48 configs x 10 epochs = 480): the run stops at 480 epochs"]
    assert merge([("a", "t1", "x"), ("b", "t1", "x"), ("a", "t2", "x"), ("b", "t2", "x"), ("a", "t1", "y"),
                  ("b", "t2", "y")]) == ["a, b on t1, t2: x", "a on t1, b on t2: y"]


def test_run_warns_before_and_report_after(two_task_hub: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--method", "random,gp", "--hub", str(two_task_hub), "--task", "alpha",
                                 "--budget", "60", "--tau-budgets", "3", "--out", str(tmp_path), "--setting",
                                 "n_initial=5", "--setting", "fit_steps=20"])
    assert result.exit_code == 0, result.output
    warnings = " ".join(result.stderr.split())
    assert "gp on duo/alpha: tau budget(s) 3 <= n_initial = 5" in warnings
    assert "random, gp on duo/alpha: budget 60 is beyond what the task can spend (12 configs x 4 " \
           "epochs = 48): the run stops at 48 epochs" in warnings
    assert "runs: 96/96 epochs replayed" in result.stdout  # progress counts to what the runs can spend: 2 x 48
    run = Trajectory.load(tmp_path / "duo" / "alpha" / "gp" / "seed0.json")
    assert run.steps[-1].cum_epochs == 48 and run.tau[3] is None  # what the warnings said happened
    caveats = " ".join(build_report(tmp_path, [3]).caveats)
    assert "tau budget(s) 3 <= n_initial = 5" in caveats and "the run stops at 48 epochs" in caveats


def test_a_method_that_replays_another_is_named(two_task_hub: Path, tmp_path: Path) -> None:
    """BOHB without enough points for its model draws every config as Hyperband does: the report says so; a BOHB
    whose model is built from the first points does not get that caveat."""
    def run(out: Path, method: str, *settings: str) -> None:
        args = ["run", "--method", method, "--hub", str(two_task_hub), "--task", "alpha", "--seeds", "0-1",
                "--budget", "30", "--out", str(out), "--tau-budgets", "30"]
        result = runner.invoke(app, args + [a for s in settings for a in ("--setting", s)])
        assert result.exit_code == 0, result.output

    twins, apart = tmp_path / "twins", tmp_path / "apart"
    for out in (twins, apart):
        run(out, "hyperband")
    run(twins, "bohb", "min_points_in_model=1000")
    run(apart, "bohb", "min_points_in_model=1", "random_fraction=0")
    caveats = build_report(twins, [30]).caveats
    assert "bohb and hyperband on duo/alpha: paid the very same steps in all 2 seeds they share: one method in two " \
           "names here; check their settings" in caveats
    assert not any("very same steps" in line for line in build_report(apart, [30]).caveats)
