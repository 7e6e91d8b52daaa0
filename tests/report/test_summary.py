"""Cells: n over seeds, the seeds a cell lacks and why, marks in the tables, caveats."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fmsbench.replay.trajectory import Trajectory
from fmsbench.report import build_report, render_markdown
from fmsbench.report.summary import run_value


@pytest.fixture
def short_of_a_seed(results: Path, tmp_path: Path) -> Path:
    """The shared results without gp's seed 2 on task beta."""
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    (copy / "duo" / "beta" / "gp" / "seed2.json").unlink()
    return copy


def test_a_missing_seed_is_counted_marked_and_explained(short_of_a_seed: Path) -> None:
    report = build_report(short_of_a_seed, [8])
    cell = report.summary.query("metric == 'regret' and task == 'beta' and method == 'gp'").iloc[0]
    assert (cell.n, cell.seeds, cell.missing) == (2, 3, "seed 2: not run")
    full = report.summary.query("metric == 'regret' and task == 'alpha' and method == 'gp'").iloc[0]
    assert (full.n, full.seeds, full.missing) == (3, 3, "")
    text = render_markdown(report)
    assert "† gp, duo/beta @ 8: n = 2 of 3 seeds (seed 2: not run)" in text
    assert any(c.startswith("gp on duo/beta: ") and "at 8 epochs: n = 2 of 3 seeds (seed 2: not run)" in c
               for c in report.caveats)


def test_reasons_for_missing_values(results: Path) -> None:
    run = Trajectory.load(results / "duo" / "alpha" / "gp" / "seed0.json")
    assert run_value("tau", run, 4) == (pytest.approx(float("nan"), nan_ok=True), "no surrogate fitted by 4 epochs")
    assert run_value("tau", run, 6)[1] == "tau not measured at 6 (the run's tau budgets: [4, 8])"
    assert run_value("regret", run, 9)[1] == "the run's budget is 8 epochs"
    random = Trajectory.load(results / "duo" / "alpha" / "random" / "seed0.json")
    assert run_value("regret", random, 3)[1] == "no step finished by 3 epochs (the first at 4)"  # one 4-epoch step
    value, why = run_value("regret", random, 4)
    assert why == "" and value == random.steps[0].regret


def test_tau_columns_only_at_budgets_a_run_measured(results: Path) -> None:
    report = build_report(results, [6, 8])  # the runs measured tau at 4 and 8
    tau = report.summary.query("metric == 'tau'")
    assert set(tau.budget) == {8}
    assert set(report.summary.query("metric == 'regret'").budget) == {6, 8}
    assert "tau not measured" not in render_markdown(report)


def test_tables_show_n_bold_best_and_directions(results: Path) -> None:
    report = build_report(results, [8])
    regret = next(v for v in report.tables if v.metric == "regret")
    column = [cells[0] for _, cells in regret.rows]
    assert all(cell.text.endswith("(3)") for cell in column)
    best = [cell for cell in column if cell.best]
    means = report.summary.query("metric == 'regret' and task == 'alpha' and budget == 8")["mean"]
    assert best and all(cell.text.startswith(f"{means.min():.3f}") for cell in best)
    assert regret.caption.startswith("Lower is better")
    assert next(v for v in report.tables if v.metric == "tau").caption.startswith("Higher is better")
