"""Aggregation: every metric per (hub, task, method, budget) as mean, standard error and n over seeds, the seeds
a cell lacks and why, the best method of each column and each method's significance against it; and the ranks of
methods over (task, seed) blocks per budget.

Definitions live in `fmsbench.metrics`; this module only gathers and aggregates.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmsbench.methods import METHODS
from fmsbench.metrics import mean_and_sem, values_at_budgets
from fmsbench.replay.trajectory import Trajectory
from fmsbench.report.load import at_budget, group_runs, method_order, task_keys
from fmsbench.report.stats import RankTest, rank_test, versus_best

COLUMNS = ["metric", "hub", "task", "method", "budget", "mean", "sem", "n", "seeds", "best", "p_vs_best", "missing"]


@dataclass(frozen=True)
class Metric:
    """A reported metric: its summary name, table title, direction and printed digits; `timing`: it measures this
    machine's wall clock, so it varies between identical runs."""

    name: str
    title: str
    higher_is_better: bool
    digits: int
    timing: bool = False

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


TAU_METRICS = {"final": "tau", "forecast": "tau_forecast", "protocol": "tau_protocol", "next": "tau_next"}
METRICS = {m.name: m for m in (
    Metric("tau", "Kendall's tau-b (ours: predicted vs true final validation accuracy, all configs)", True, 2),
    Metric("tau_forecast", "Forecast tau (configs started but not finished)", True, 2),
    Metric("tau_protocol", "Released code's protocol tau (finished configs by their true value)", True, 2),
    Metric("tau_next", "Next-epoch tau (prediction at b_c + 1, unfinished configs)", True, 2),
    Metric("regret", "Regret (y* - best validation accuracy observed)", False, 3),
    Metric("normalised_regret", "Normalised regret", False, 3),
    Metric("incumbent_test", "Incumbent test accuracy", True, 3),
    Metric("overhead_seconds", "Method overhead in seconds (surrogate fitting and acquisition)", False, 1, timing=True),
    Metric("average_rank", "Average rank over tasks x seeds (regret)", False, 2),
    Metric("average_rank_tau", "Average rank over tasks x seeds (Kendall's tau)", False, 2),
)}
REGRET_METRICS = ("regret", "normalised_regret", "incumbent_test", "overhead_seconds")
RANKED = {"average_rank": "regret", "average_rank_tau": "tau"}  # rank metric -> the metric it ranks


@functools.cache
def _registered_surrogate(method: str) -> bool:
    return bool(METHODS.get(method)(0).has_surrogate)


def surrogate_methods(trajectories: list[Trajectory]) -> set[str]:
    """The methods that can have a tau: registered methods whose class has a surrogate (an experiment arm's label
    aside), any other method if one of its runs measured a tau."""
    found = set()
    for method in {t.meta.method for t in trajectories}:
        base = method.partition(" [")[0]
        if (_registered_surrogate(base) if base in METHODS else
                any(taus is not None for t in trajectories if t.meta.method == method for taus in t.tau.values())):
            found.add(method)
    return found


def run_value(metric: str, run: Trajectory, budget: int) -> tuple[float, str]:
    """One run's value of `metric` at cumulative budget B, and why it is missing when it is NaN."""
    meta = run.meta
    spent = run.steps[-1].cum_epochs if run.steps else 0
    if metric in TAU_METRICS.values():
        kind = next(k for k, name in TAU_METRICS.items() if name == metric)
        if budget not in run.tau:
            return math.nan, f"tau not measured at {budget} (the run's tau budgets: {meta.tau_budgets})"
        if run.tau[budget] is None:
            if spent < budget:
                return math.nan, f"the run ended at {spent} epochs"
            return math.nan, f"no surrogate fitted by {budget} epochs"
        value = run.tau_at(budget, kind)
        return value, "" if math.isfinite(value) else "tau undefined (constant prediction or < 2 configs)"
    if budget > meta.budget:
        return math.nan, f"the run's budget is {meta.budget} epochs"
    if metric == "overhead_seconds":
        cum = np.cumsum(np.nan_to_num(np.asarray(run.column("fit_seconds"), float)))
        value = float(values_at_budgets(run.column("cum_epochs"), cum, [budget])[0])
    else:
        value = at_budget(run, metric, budget)
    if math.isfinite(value):
        return value, ""
    first = run.steps[0].cum_epochs if run.steps else None
    return value, f"no step finished by {budget} epochs (the first at {first})"


def _missing(reasons: dict[int, str], seeds: list[int]) -> str:
    """'seed 2: no surrogate fitted by 25 epochs; seeds 0, 1: not run' (seeds grouped by reason)."""
    by_reason: dict[str, list[int]] = {}
    for seed in seeds:
        if seed in reasons:
            by_reason.setdefault(reasons[seed], []).append(seed)
    return "; ".join(f"seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))}: {reason}"
                     for reason, s in by_reason.items())


def summarise(trajectories: list[Trajectory], budgets: list[int], tau: bool = True, regret: bool = True) -> pd.DataFrame:
    """One row per (metric, hub, task, method, budget), tau only at budgets some run measured it at: mean, standard
    error and n over the seeds with a defined value, `seeds` the seeds any method ran on that task, `missing` which
    seeds lack a value and why, `best` the column's best mean(s), `p_vs_best` the Holm-corrected Wilcoxon p against
    the column's best."""
    groups = group_runs(trajectories)
    surrogates = surrogate_methods(trajectories)
    metrics = ([*TAU_METRICS.values()] if tau else []) + (list(REGRET_METRICS) if regret else [])
    rows: list[dict] = []
    for hub, task in task_keys(trajectories):
        methods = method_order({m for h, t, m in groups if (h, t) == (hub, task)})
        seeds = sorted({run.meta.seed for m in methods for run in groups[(hub, task, m)]})
        measured = {b for m in methods if m in surrogates for run in groups[(hub, task, m)]
                    for b in run.meta.tau_budgets}
        for metric in metrics:
            for budget in budgets:
                if metric in TAU_METRICS.values() and budget not in measured:
                    continue  # no run measured tau there: a column of blanks would only add noise
                values: dict[str, dict[int, float]] = {}
                column = []
                for method in methods:
                    if metric in TAU_METRICS.values() and method not in surrogates:
                        continue
                    found = {run.meta.seed: run_value(metric, run, budget) for run in groups[(hub, task, method)]}
                    values[method] = {s: value for s, (value, _) in found.items()}
                    reasons = {s: found[s][1] if s in found else "not run" for s in seeds}
                    mean, sem, n = mean_and_sem(list(values[method].values()))
                    column.append({"metric": metric, "hub": hub, "task": task, "method": method, "budget": budget,
                                   "mean": mean, "sem": sem, "n": n, "seeds": len(seeds), "best": False,
                                   "p_vs_best": math.nan,
                                   "missing": _missing({s: r for s, r in reasons.items() if r}, seeds)})
                _mark_best(column, values, METRICS[metric].higher_is_better)
                rows += column
    return pd.DataFrame(rows, columns=COLUMNS)


def _mark_best(column: list[dict], values: dict[str, dict[int, float]], higher_is_better: bool) -> None:
    """Set `best` and `p_vs_best` on the rows of one column (one per method in `values`)."""
    finite = [row["mean"] for row in column if math.isfinite(row["mean"])]
    if not finite:
        return
    top = max(finite) if higher_is_better else min(finite)
    best = next(row["method"] for row in column if row["mean"] == top)
    p_values = versus_best(values, best)
    for row in column:
        row["best"] = row["mean"] == top
        row["p_vs_best"] = p_values.get(row["method"], math.nan)


def rank_tests(trajectories: list[Trajectory], budgets: list[int], tau: bool = True,
               regret: bool = True) -> list[RankTest]:
    """Per budget, the ranks of the methods run on every task over (hub, task, seed) blocks: of regret (lower is
    better; before a method's first finished step it counts as the worst) and of the final tau (higher is better;
    a block with an undefined tau is dropped); a budget without any complete block has no test."""
    groups = group_runs(trajectories)
    tasks = task_keys(trajectories)
    surrogates = surrogate_methods(trajectories)
    everywhere = [m for m in method_order({m for _, _, m in groups}) if all((h, t, m) in groups for h, t in tasks)]
    left_out = {m: "not run on every task" for m in method_order({m for _, _, m in groups}) if m not in everywhere}
    tests = []
    for metric in (["regret"] if regret else []) + (["tau"] if tau else []):
        methods = everywhere if metric == "regret" else [m for m in everywhere if m in surrogates]
        if len(methods) < 2:
            continue
        for budget in budgets:
            blocks = {}
            for hub, task in tasks:
                runs = {m: {r.meta.seed: r for r in groups[(hub, task, m)]} for m in methods}
                for seed in sorted(set.intersection(*(set(r) for r in runs.values()))):
                    blocks[(hub, task, seed)] = {m: _rank_value(metric, runs[m][seed], budget) for m in methods}
            scores = pd.DataFrame.from_dict(blocks, orient="index", columns=methods)
            test = rank_test(metric, budget, scores, METRICS[metric].higher_is_better, left_out)
            if test.n_blocks:  # else nothing to rank: e.g. no tau defined yet at this budget
                tests.append(test)
    return tests


def _rank_value(metric: str, run: Trajectory, budget: int) -> float:
    value, _ = run_value(metric, run, budget)
    if metric == "regret" and math.isnan(value) and budget <= run.meta.budget:
        return math.inf  # nothing observed yet: the worst regret
    return value


def rank_rows(tests: list[RankTest]) -> pd.DataFrame:
    """The rank tests as summary rows (metric average_rank / average_rank_tau; n = blocks; p_vs_best = Nemenyi)."""
    rows = []
    for test in tests:
        name = next(rank for rank, ranked in RANKED.items() if ranked == test.metric)
        for method, rank in test.ranks.items():
            rows.append({"metric": name, "hub": "", "task": "", "method": method, "budget": test.budget,
                         "mean": float(rank), "sem": math.nan, "n": test.n_blocks, "seeds": test.n_blocks,
                         "best": method == test.best,
                         "p_vs_best": math.nan if method == test.best else float(test.pairwise.loc[method, test.best]),
                         "missing": ""})
    return pd.DataFrame(rows, columns=COLUMNS)
