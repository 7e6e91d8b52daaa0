"""Caveats a reader must see before trusting a comparison: run setups that cannot show what they claim to (a budget
that ends within a method's initial design, a budget the hub cannot spend, a tau budget never reached), two methods
whose runs are step for step the same (one of them is not doing what its name says), and table cells that rest on
fewer seeds than the others. `fmsbench run` shows the setup caveats before it runs; reports and the page show all
of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import pandas as pd

from fmsbench.replay.trajectory import Trajectory
from fmsbench.report.load import group_runs, task_keys
from fmsbench.report.summary import METRICS, RANKED


def setup_caveats(method: str, budget: int, tau_budgets: Iterable[int], settings: dict[str, Any], n_configs: int,
                  max_epoch: int) -> list[str]:
    """What is degenerate about running `method` with these settings for `budget` epochs on a task of
    `n_configs` x `max_epoch` (each caveat one sentence, without the method's name)."""
    caveats = []
    n_initial = settings.get("n_initial")
    if isinstance(n_initial, int) and budget <= n_initial:
        caveats.append(f"budget {budget} <= its initial design (n_initial = {n_initial} random configs at 1 epoch "
                       "each): the surrogate is never fitted, so the run is random search at 1 epoch per config "
                       "and has no tau; give a budget above n_initial or a smaller n_initial")
    elif isinstance(n_initial, int) and (early := sorted(b for b in tau_budgets if b <= n_initial)):
        caveats.append(f"tau budget(s) {', '.join(map(str, early))} <= n_initial = {n_initial}: measured before "
                       "the first surrogate fit, so no tau there")
    late = sorted(b for b in tau_budgets if b > budget)
    if late:
        caveats.append(f"tau budget(s) {', '.join(map(str, late))} beyond the budget {budget}: never measured")
    capacity = n_configs * max_epoch
    if budget > capacity:
        caveats.append(f"budget {budget} is beyond what the task can spend ({n_configs} configs x {max_epoch} "
                       f"epochs = {capacity}): the run stops at {capacity} epochs")
    return caveats


def merge(items: Iterable[tuple[str, str, str]]) -> list[str]:
    """(who, where, caveat) triples -> one line per caveat: 'gp, dyhpo on hub/a, hub/b: budget 20 <= ...' when
    every who shares it at every where, else each pair named."""
    pairs: dict[str, list[tuple[str, str]]] = {}
    for who, where, text in items:
        if (who, where) not in pairs.setdefault(text, []):
            pairs[text].append((who, where))
    lines = []
    for text, found in pairs.items():
        whos, wheres = list(dict.fromkeys(w for w, _ in found)), list(dict.fromkeys(w for _, w in found))
        if len(found) == len(whos) * len(wheres):
            subject = f"{', '.join(whos)} on {', '.join(wheres)}"
        else:
            subject = ", ".join(f"{who} on {where}" for who, where in found)
        lines.append(f"{subject}: {text}")
    return lines


def run_caveats(trajectories: list[Trajectory]) -> list[str]:
    """The setup caveats of every run, one line per caveat (runs that share one are named together)."""
    items = []
    for t in trajectories:
        meta = t.meta
        for text in setup_caveats(meta.method, meta.budget, meta.tau_budgets, meta.settings, meta.n_configs,
                                  meta.max_epoch):
            items.append((meta.method, f"{meta.hub_name}/{meta.task}", text))
    return merge(items)


def twin_caveats(trajectories: list[Trajectory]) -> list[str]:
    """Pairs of methods that paid exactly the same (config, epoch) steps in every seed of a task they share: every
    figure of theirs is the same, so the tables cannot tell them apart (a BOHB whose model is never built is
    Hyperband)."""
    groups = group_runs(trajectories)
    items = []
    for hub, task in task_keys(trajectories):
        paths = {method: {run.meta.seed: [(s.config, s.epoch) for s in run.steps] for run in runs}
                 for (h, t, method), runs in groups.items() if (h, t) == (hub, task)}
        for first, second in itertools.combinations(sorted(paths), 2):
            seeds = paths[first].keys() & paths[second].keys()
            if seeds and all(paths[first][k] == paths[second][k] for k in seeds):
                items.append((f"{first} and {second}", f"{hub}/{task}", f"paid the very same steps in all {len(seeds)} "
                              "seeds they share: one method in two names here; check their settings"))
    return merge(items)


def cell_caveats(summary: pd.DataFrame) -> list[str]:
    """Cells whose mean rests on fewer seeds than the task's (a missing run or a NaN value), with the reason."""
    short = summary[(summary.n < summary.seeds) & ~summary.metric.isin(list(RANKED))]
    items = []
    for (hub, task, method, budget, missing), rows in short.groupby(["hub", "task", "method", "budget", "missing"],
                                                                     sort=False):
        names = ", ".join(METRICS[m].name for m in dict.fromkeys(rows.metric))
        counts = ", ".join(sorted({f"n = {n} of {s}" for n, s in zip(rows.n, rows.seeds, strict=True)}))
        items.append((method, f"{hub}/{task}", f"{names} at {budget} epochs: {counts} seeds ({missing})"))
    return merge(items)
