"""Figures of the results (PNG, for the page and the paper), each with the caption that says what it shows.

regret against cumulative epochs and against seconds (training plus each method's overhead), tau against budget
beside the task's ceilings, the average rank per epoch, and critical-difference diagrams. One look per method
everywhere (`fmsbench.report.style`). Regret is drawn on a symmetric-log axis: linear near 0, so regret 0 (the best
config found) lies on the axis instead of at an arbitrary floor, logarithmic above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fmsbench.atomic import atomic_path
from fmsbench.hub.headroom import Headroom
from fmsbench.metrics import ALPHA, values_at_budgets
from fmsbench.replay.trajectory import Trajectory
from fmsbench.report.load import RunKey, method_order, task_keys
from fmsbench.report.stats import RankTest
from fmsbench.report.style import method_styles

LINEAR_BELOW = 1e-3  # regret axes: linear in [0, 1e-3], logarithmic above
DPI = 110


@dataclass(frozen=True)
class Figure:
    path: Path
    caption: str


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, path: Path, caption: str) -> Figure:
    if figure.get_layout_engine() is None:
        figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI)
    pyplot().close(figure)
    return Figure(Path(path), caption)


def _mean_and_seeds(axis: Any, x: np.ndarray, rows: np.ndarray, style: dict, label: str) -> None:
    """Each seed as a thin line, the mean over seeds as a thick one (from where every seed has a value)."""
    for row in rows:
        axis.plot(x, row, linewidth=0.6, alpha=0.35, drawstyle="steps-post", **style)
    complete = ~np.isnan(rows).any(axis=0)
    mean = np.where(complete, np.where(complete, rows, 0.0).mean(axis=0), np.nan)
    axis.plot(x, mean, label=label, linewidth=1.8, drawstyle="steps-post", **style)


def _regret_axis(axis: Any, title: str, xlabel: str) -> None:
    axis.set_yscale("symlog", linthresh=LINEAR_BELOW, linscale=0.5)
    axis.set_ylim(bottom=0)
    axis.set(title=title, xlabel=xlabel, ylabel="regret (lower is better)")
    axis.grid(alpha=0.3)


def _legend(figure: Any, axes: Any) -> None:
    handles, labels = {}, []
    for axis in np.ravel(axes):
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    figure.legend([handles[label] for label in labels], labels, loc="outside right upper", fontsize="small",
                  frameon=False)


def _subplots(n: int, width: float = 4.4, height: float = 3.6) -> tuple[Any, Any]:
    return pyplot().subplots(1, n, figsize=(width * n + 1.8, height), squeeze=False, layout="constrained")


def plot_regret_epochs(groups: dict[RunKey, list[Trajectory]], hub: str, out: Path) -> Figure:
    tasks = sorted({t for h, t, _ in groups if h == hub})
    figure, axes = _subplots(len(tasks))
    styles = method_styles(method_order({m for _, _, m in groups}))
    counts = set()
    for axis, task in zip(axes[0], tasks, strict=True):
        methods = method_order({m for h, t, m in groups if (h, t) == (hub, task)})
        grid = np.arange(1, max(r.meta.budget for m in methods for r in groups[(hub, task, m)]) + 1)
        for method in methods:
            runs = groups[(hub, task, method)]
            counts.add(len(runs))
            rows = np.array([np.where(grid <= r.meta.budget,
                                      values_at_budgets(r.column("cum_epochs"), r.column("regret"), grid), np.nan)
                             for r in runs])
            _mean_and_seeds(axis, grid, rows, styles[method], method)
        _regret_axis(axis, f"{hub} / {task}", "cumulative epochs")
    _legend(figure, axes)
    caption = (f"Regret against cumulative epochs on {hub}, one panel per task: each of {_counts(counts)} seeds as a "
               f"thin line, their mean as a thick one (from the epoch by which every seed has finished a step). The y "
               f"axis is linear below {LINEAR_BELOW:g} and logarithmic above, so regret 0 (the hub's best config "
               "found) lies on the x axis. Dashed: the -nocnn ablation of the method of the same colour.")
    return save(figure, Path(out) / f"regret_{hub}.png", caption)


def plot_regret_seconds(groups: dict[RunKey, list[Trajectory]], hub: str, out: Path) -> Figure:
    tasks = sorted({t for h, t, _ in groups if h == hub})
    figure, axes = _subplots(len(tasks))
    styles = method_styles(method_order({m for _, _, m in groups}))
    for axis, task in zip(axes[0], tasks, strict=True):
        methods = method_order({m for h, t, m in groups if (h, t) == (hub, task)})
        clocks = {m: [_clock(r) for r in groups[(hub, task, m)]] for m in methods}
        starts = [c[0][0] for runs in clocks.values() for c in runs if len(c[0])]
        ends = [c[0][-1] for runs in clocks.values() for c in runs if len(c[0])]
        if not starts:
            continue
        grid = np.geomspace(max(min(starts), 1e-3), max(ends), 300)
        for method in methods:
            rows = np.array([values_at_budgets(x, y, grid) for x, y in clocks[method]])
            _mean_and_seeds(axis, grid, rows, styles[method], method)
        axis.set_xscale("log")
        _regret_axis(axis, f"{hub} / {task}", "seconds: simulated training + method overhead")
    _legend(figure, axes)
    caption = (f"Regret against seconds on {hub} (log x): the simulated training seconds of every epoch paid (the "
               "hub's recorded epoch times) plus the method's own overhead (surrogate fitting and acquisition, "
               "measured when the run ran, so it varies between identical runs); thin lines: seeds, thick: their "
               "mean from the moment every seed has finished a step. A method whose line lies left of another's reaches "
               "the same regret sooner in wall-clock terms.")
    return save(figure, Path(out) / f"regret_seconds_{hub}.png", caption)


def _clock(run: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """(seconds at each step: training + cumulative overhead, regret at each step)."""
    overhead = np.cumsum(np.nan_to_num(np.asarray(run.column("fit_seconds"), float)))
    return np.asarray(run.column("cum_seconds"), float) + overhead, np.asarray(run.column("regret"), float)


def plot_tau_budget(groups: dict[RunKey, list[Trajectory]], hub: str, surrogates: list[str],
                    headroom: dict[tuple[str, str], Headroom], out: Path) -> Figure | None:
    tasks = sorted({t for h, t, m in groups if h == hub and m in surrogates})
    if not tasks:
        return None
    figure, axes = _subplots(len(tasks))
    styles = method_styles(method_order({m for _, _, m in groups}))
    for axis, task in zip(axes[0], tasks, strict=True):
        for method in method_order({m for h, t, m in groups if (h, t) == (hub, task) and m in surrogates}):
            runs = groups[(hub, task, method)]
            budgets = sorted({b for r in runs for b in r.tau})
            values = np.array([[r.tau_at(b) for b in budgets] for r in runs], float)
            n = np.isfinite(values).sum(axis=0)
            mean = np.array([np.nanmean(v) if c else np.nan for v, c in zip(values.T, n, strict=True)])
            sem = np.array([np.nanstd(v, ddof=1) / math.sqrt(c) if c > 1 else 0.0 for v, c in zip(values.T, n, strict=True)])
            axis.errorbar(budgets, mean, yerr=sem, label=method, marker="o", markersize=4, capsize=3, linewidth=1.4,
                          **styles[method])
        room = headroom.get((hub, task))
        if room is not None:
            for value, label, line in ((room.noise_ceiling, "noise ceiling", "-"),
                                       (room.curve_ceiling.get(1, math.nan), "curve ceiling, epoch 1", ":"),
                                       (room.hp_ceiling_all, "hyperparameter ceiling, all configs", "-."),
                                       (room.hp_ceiling_few, "hyperparameter ceiling, 20 configs", "--")):
                if math.isfinite(value):
                    axis.axhline(value, color="black", linestyle=line, linewidth=0.9, alpha=0.6, label=label)
        axis.set(title=f"{hub} / {task}", xlabel="cumulative epochs (tau budget)",
                 ylabel="Kendall's tau (higher is better)")
        axis.grid(alpha=0.3)
    _legend(figure, axes)
    caption = (f"Kendall's tau (ours: predicted vs true final validation accuracy over all configs; higher is "
               f"better) against the cumulative budget at which it was measured on {hub}: mean ± standard error over "
               "seeds (undefined taus left out). Black lines: what the task's data allow (see Headroom): the noise "
               "ceiling, the hyperparameter ceiling of a random forest given 20 random configs' finals or all "
               "configs (5-fold), and the curve ceiling of every config's epoch-1 value.")
    return save(figure, Path(out) / f"tau_{hub}.png", caption)


def plot_rank_epochs(groups: dict[RunKey, list[Trajectory]], methods: list[str], out: Path) -> Figure | None:
    """Average rank of regret per epoch over the (task, seed) blocks every one of `methods` ran."""
    if len(methods) < 2:
        return None
    tasks = task_keys([r for rs in groups.values() for r in rs])
    grid = np.arange(1, max(r.meta.budget for rs in groups.values() for r in rs) + 1)
    blocks = []
    for hub, task in tasks:
        runs = {m: {r.meta.seed: r for r in groups[(hub, task, m)]} for m in methods}
        for seed in sorted(set.intersection(*(set(r) for r in runs.values()))):
            block = np.array([values_at_budgets(runs[m][seed].column("cum_epochs"), runs[m][seed].column("regret"),
                                                grid) for m in methods])
            blocks.append(_ranks(np.where(np.isnan(block), np.inf, block)))
    if not blocks:
        return None
    ranks = np.mean(blocks, axis=0)
    figure, axes = _subplots(1, width=6.0)
    styles = method_styles(methods)
    for method, row in zip(methods, ranks, strict=True):
        axes[0][0].plot(grid, row, label=method, linewidth=1.6, drawstyle="steps-post", **styles[method])
    axes[0][0].set(title=f"average rank over {len(blocks)} (task, seed) blocks", xlabel="cumulative epochs",
                   ylabel="rank of regret (1 = best)")
    axes[0][0].invert_yaxis()
    axes[0][0].grid(alpha=0.3)
    _legend(figure, axes)
    caption = (f"Average rank of regret against cumulative epochs over {len(blocks)} (task, seed) blocks (1 = best, "
               "top): every block ranks the methods that ran on every task; a method that has not finished a step "
               "yet ranks last, ties share the mean rank.")
    return save(figure, Path(out) / "rank.png", caption)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks (1 = lowest) down each column of [method, epoch], ties averaged."""
    from scipy.stats import rankdata

    return rankdata(values, axis=0, method="average")


def plot_critical_difference(tests: list[RankTest], metric: str, out: Path) -> Figure | None:
    import scikit_posthocs

    tests = [t for t in tests if t.metric == metric and math.isfinite(t.p_value)]
    if not tests:
        return None
    plt = pyplot()
    figure, axes = plt.subplots(len(tests), 1, figsize=(8, 1.2 + 0.35 * len(tests[0].ranks) * len(tests)),
                                squeeze=False)
    palette = {m: s["color"] for m, s in method_styles(list(tests[0].ranks.index)).items()}
    for axis, test in zip(axes[:, 0], tests, strict=True):
        scikit_posthocs.critical_difference_diagram(test.ranks, test.pairwise, ax=axis, alpha=ALPHA,
                                                    color_palette=palette)
        axis.set_title(f"{metric} at {test.budget} epochs: Friedman p = {test.p_value:.2g}, "
                       f"{test.n_blocks} blocks, CD = {test.critical_difference:.2f}", fontsize="medium")
    caption = (f"Critical-difference diagrams of the average rank of {metric} over (task, seed) blocks, one per "
               "budget (rank 1 = best, on the left): methods joined by a "
               f"horizontal bar are not significantly different by Nemenyi's test (alpha {ALPHA:g}) after the "
               "Friedman test.")
    return save(figure, Path(out) / f"critical_difference_{metric}.png", caption)


def _counts(values: set[int]) -> str:
    return "/".join(str(v) for v in sorted(values))
