"""Finished runs that the report tests read: three methods (one with a surrogate) on the synthetic two-task hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmsbench.runs.runner import plan_runs, run_all

FAST = {"n_initial": "5", "fit_steps": "20"}


@pytest.fixture(scope="session")
def results(two_task_hub: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """random, gp, hyperband x tasks alpha, beta x seeds 0-2, budget 8, tau measured at 4 and 8."""
    out = tmp_path_factory.mktemp("results")
    run_all(plan_runs("random,gp,hyperband", two_task_hub, "all", [0, 1, 2], 8, out, (4, 8), FAST).specs)
    return out
