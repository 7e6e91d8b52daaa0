"""Result tables in the paper's Table 1 layout (rows = methods, columns = hub/task x budget), format-neutral: each
cell carries its text, whether it is the column's best, and its marks; renderers (rich, markdown, HTML) only
draw them.

Cells read "mean ± standard error (n)", n = the seeds with a value. Marks: "†" the cell rests on fewer seeds than
its task has (a note says which and why), "∗" the method is significantly worse than the column's best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from fmsbench.hub.headroom import Headroom
from fmsbench.metrics import ALPHA
from fmsbench.report.load import method_order
from fmsbench.report.stats import RankTest, smallest_p
from fmsbench.report.summary import METRICS, RANKED

FEWER = "†"
WORSE = "∗"


@dataclass
class Cell:
    text: str
    best: bool = False
    marks: str = ""


@dataclass
class TableView:
    metric: str
    title: str
    caption: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    notes: list[str] = field(default_factory=list)
    row_label: str = "method"


def _value(mean: float, sem: float, n: int, digits: int) -> str:
    if n == 0 or not math.isfinite(mean):
        return f"– ({n})"
    if not math.isfinite(sem):
        return f"{mean:.{digits}f} ({n})"
    return f"{mean:.{digits}f} ± {sem:.{digits}f} ({n})"


def _column(row: pd.Series) -> str:
    return f"{row.hub}/{row.task} @ {row.budget}" if row.hub else f"all tasks @ {row.budget}"


def table_view(summary: pd.DataFrame, metric: str, tests: list[RankTest]) -> TableView | None:
    part = summary[summary.metric == metric]
    if part.empty:
        return None
    spec = METRICS[metric]
    columns = list(dict.fromkeys(_column(row) for row in part.itertuples()))
    cells: dict[str, dict[str, Cell]] = {}
    notes = []
    for row in part.itertuples():
        marks = ""
        if row.n < row.seeds and metric not in RANKED:
            marks += FEWER
            notes.append(f"{FEWER} {row.method}, {_column(row)}: n = {row.n} of {row.seeds} seeds ({row.missing})")
        if math.isfinite(row.p_vs_best) and row.p_vs_best < ALPHA:
            marks += WORSE
        cells.setdefault(row.method, {})[_column(row)] = Cell(_value(row.mean, row.sem, row.n, spec.digits),
                                                              bool(row.best), marks)
    rows = [(method, [cells[method].get(c, Cell("–")) for c in columns]) for method in method_order(set(cells))]
    caption = _rank_caption(metric, tests) if metric in RANKED else _cell_caption(spec.direction, spec.timing)
    return TableView(metric, spec.title, caption, columns, rows, notes)


def _cell_caption(direction: str, timing: bool) -> str:
    text = f"{direction.capitalize()}."
    return text + " Wall-clock measurements: they vary between identical runs." if timing else text


def legend(summary: pd.DataFrame) -> str:
    """How to read every table's cells and marks (said once, above the tables)."""
    cells = summary[~summary.metric.isin(list(RANKED))]
    seeds = int(cells.seeds.max()) if len(cells) else 0
    text = (f"Cells: mean ± standard error over seeds (n) where n = the seeds with a value; bold: the best mean of "
            f"the column; {WORSE}: significantly worse than the column's best (two-sided Wilcoxon signed-rank test "
            f"over paired seeds, Holm-corrected over the column, alpha {ALPHA:g}); {FEWER}: fewer seeds than the "
            "task has (a note under the table says which and why); –: not defined.")
    if seeds and smallest_p(seeds) >= ALPHA:
        text += (f" With {seeds} seeds no difference can be significant: the smallest attainable p is "
                 f"{smallest_p(seeds):.3g} (10 seeds: {smallest_p(10):.3g}).")
    return text


def _rank_caption(metric: str, tests: list[RankTest]) -> str:
    parts = []
    for test in (t for t in tests if t.metric == RANKED[metric]):
        if math.isfinite(test.p_value):
            parts.append(f"at {test.budget}: Friedman chi² = {test.statistic:.2f}, p = {test.p_value:.2g} "
                         f"({len(test.ranks)} methods, {test.n_blocks} blocks), Nemenyi CD = "
                         f"{test.critical_difference:.2f}")
        else:
            parts.append(f"at {test.budget}: no Friedman test ({len(test.ranks)} methods, {test.n_blocks} blocks; it "
                         "needs at least 3 and 2)")
    left_out = next((t.left_out for t in tests if t.left_out), {})
    text = ("Lower is better (1 = best). Cells: average rank over (task, seed) blocks (n = blocks); bold: the best; "
            f"{WORSE}: differs significantly from the best-ranked method (Nemenyi, alpha {ALPHA:g}). "
            + "; ".join(parts) + ".")
    if left_out:
        text += " Left out: " + "; ".join(f"{m} ({why})" for m, why in left_out.items()) + "."
    return text


ORDER = ["tau", "tau_forecast", "tau_protocol", "tau_next", "regret", "normalised_regret", "incumbent_test",
         "average_rank", "average_rank_tau", "overhead_seconds"]


def table_views(summary: pd.DataFrame, tests: list[RankTest]) -> list[TableView]:
    """Every table of the summary, in reading order."""
    return [view for metric in ORDER if (view := table_view(summary, metric, tests)) is not None]


def _share(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else "–"


def _tau(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "–"


HEADROOM_COLUMNS = ["configs x epochs", "at chance", "flat", "near y* 0.5%", "near y* 1%", "noise ceiling",
                    "curve @1", "curve @3", "hp, 20 configs", "hp, all configs"]


def headroom_view(headroom: dict[tuple[str, str], Headroom]) -> TableView | None:
    """What each task's data allow (definitions in `fmsbench.metrics`): the row a method's tau is read against."""
    if not headroom:
        return None
    rows = []
    for (hub, task), room in sorted(headroom.items()):
        cells = [f"{room.n_configs} x {room.max_epoch}", _share(room.at_chance), _share(room.flat),
                 *(_share(room.near_best[w]) for w in sorted(room.near_best)), _tau(room.noise_ceiling),
                 *(_tau(room.curve_ceiling[k]) for k in sorted(room.curve_ceiling)), _tau(room.hp_ceiling_few),
                 _tau(room.hp_ceiling_all)]
        rows.append((f"{hub}/{task}", [Cell(text) for text in cells]))
    caption = ("What the data of each task allow (see the definitions): shares of configs at chance (final val acc "
               "<= 1.5 / classes), with flat curves, and near y* (best val acc within 0.005 / 0.01 of it); tau "
               "ceilings (higher = the data rank configs better): noise ceiling = tau(final val, final test); curve "
               "@k = tau(val at epoch k, final val); hp = tau of a random forest on the hyperparameters given the "
               "finals of 20 random configs (mean over 10 draws) or of all configs (5-fold); – = undefined (too "
               "few configs or epochs). Read a method's tau against these.")
    return TableView("headroom", "Headroom: what the data of each task allow", caption, HEADROOM_COLUMNS, rows,
                     row_label="hub/task")
