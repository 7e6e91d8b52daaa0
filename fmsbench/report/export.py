"""Data for further analysis, beside the aggregates: every step of every run as one tidy table (one row per
step; CSV and parquet), and the summary (one row per metric, hub, task, method and budget) as CSV."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from fmsbench.atomic import atomic_path, write_text_atomic
from fmsbench.metrics import TAU_KINDS
from fmsbench.replay.trajectory import Trajectory
from fmsbench.report.build import Report
from fmsbench.report.render import render_csv
from fmsbench.report.summary import TAU_METRICS

TIDY_COLUMNS = ["method", "hub", "task", "seed", "step", "config", "epoch", "cost", "cum_epochs", "cum_seconds",
                "overhead_seconds", "seconds", "val_acc", "incumbent_val", "incumbent_test", "regret",
                "normalised_regret", *TAU_METRICS.values()]


def tidy_steps(trajectories: list[Trajectory]) -> pd.DataFrame:
    """One row per step: cum_seconds = simulated training seconds, overhead_seconds = the method's cumulated fit
    and acquisition seconds (wall clock), seconds = their sum; taus only on the step where they were measured."""
    frames = []
    for t in sorted(trajectories, key=lambda t: (t.meta.hub_name, t.meta.task, t.meta.method, t.meta.seed)):
        frame = pd.DataFrame([vars(step) for step in t.steps]).drop(columns=["tau", "fit_seconds"], errors="ignore")
        if frame.empty:
            continue
        frame["overhead_seconds"] = np.cumsum(np.nan_to_num(np.asarray(t.column("fit_seconds"), float)))
        frame["seconds"] = frame["cum_seconds"] + frame["overhead_seconds"]
        for kind in TAU_KINDS:
            frame[TAU_METRICS[kind]] = [math.nan if s.tau is None else s.tau.of(kind) for s in t.steps]
        frame = frame.assign(method=t.meta.method, hub=t.meta.hub_name, task=t.meta.task, seed=t.meta.seed)
        frames.append(frame[TIDY_COLUMNS])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TIDY_COLUMNS)


def write_exports(report: Report, folder: Path) -> list[Path]:
    """summary.csv, steps.csv and steps.parquet in `folder` (each written atomically)."""
    folder = Path(folder)
    steps = tidy_steps(report.trajectories)
    paths = [folder / "summary.csv", folder / "steps.csv", folder / "steps.parquet"]
    write_text_atomic(paths[0], render_csv(report))
    write_text_atomic(paths[1], steps.to_csv(index=False))
    with atomic_path(paths[2]) as tmp:
        steps.to_parquet(tmp, index=False)
    return paths
