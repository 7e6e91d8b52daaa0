"""Tidy per-seed export: one row per step of every run, in CSV and parquet."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.report import load_results, tidy_steps

runner = CliRunner()


def test_export_is_tidy_and_complete(results: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(results), "--budgets", "8", "--export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    steps = pd.read_csv(tmp_path / "steps.csv")
    pd.testing.assert_frame_equal(steps, pd.read_parquet(tmp_path / "steps.parquet"), check_dtype=False)
    runs = load_results(results)
    assert len(steps) == sum(len(r.steps) for r in runs)
    assert set(steps.groupby(["method", "task", "seed"]).size().index) == {
        (r.meta.method, r.meta.task, r.meta.seed) for r in runs}
    run = next(r for r in runs if (r.meta.method, r.meta.task, r.meta.seed) == ("gp", "beta", 1))
    rows = steps.query("method == 'gp' and task == 'beta' and seed == 1")
    assert rows.regret.tolist() == pytest.approx(run.column("regret"))
    assert rows.seconds.to_numpy() == pytest.approx(rows.cum_seconds + np.cumsum(run.column("fit_seconds")))
    measured = rows.dropna(subset=["tau"])  # tau only on the step where it was measured
    assert measured.cum_epochs.tolist() == [8] and measured.tau.iloc[0] == pytest.approx(run.tau_at(8))
    assert pd.read_csv(tmp_path / "summary.csv").columns[0] == "metric"


def test_no_tau_without_a_surrogate(results: Path) -> None:
    steps = tidy_steps(load_results(results))
    assert steps.query("method == 'random'")[["tau", "tau_forecast"]].isna().all().all()
    assert not math.isnan(steps.query("method == 'gp'").tau.max())
