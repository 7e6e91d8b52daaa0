"""Finished runs as one pandas DataFrame, for analyses the report does not make.

One row per paid step of every trajectory under a results folder: the run's hub, task, method, seed and budget,
then the step's fields (`fmsbench.replay.trajectory.StepRecord`: config, epoch, cost, cum_epochs, regret, ...)
and its taus (`tau_final`, `tau_forecast`, `tau_protocol`, `tau_next`: NaN except at the steps that measured them).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd

from fmsbench import report
from fmsbench.metrics import TAU_KINDS
from fmsbench.replay.trajectory import StepRecord

RUN_COLUMNS = ("hub", "task", "method", "seed", "budget")
STEP_COLUMNS = tuple(f.name for f in dataclasses.fields(StepRecord) if f.name != "tau")


def load_results(results_dir: Path | str = "results") -> pd.DataFrame:
    """Every step of every run under `results_dir` (laid out as `fmsbench run --out` writes it), checked as the
    report checks it; columns RUN_COLUMNS, STEP_COLUMNS, then tau_<kind> per tau kind."""
    rows = []
    for trajectory in report.load_results(Path(results_dir)):
        meta = trajectory.meta
        run = (meta.hub_name, meta.task, meta.method, meta.seed, meta.budget)
        for step in trajectory.steps:
            taus = [math.nan if step.tau is None else step.tau.of(kind) for kind in TAU_KINDS]
            rows.append([*run, *(getattr(step, name) for name in STEP_COLUMNS), *taus])
    return pd.DataFrame(rows, columns=[*RUN_COLUMNS, *STEP_COLUMNS, *(f"tau_{kind}" for kind in TAU_KINDS)])
