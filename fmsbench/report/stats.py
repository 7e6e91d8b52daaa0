"""Significance (DESIGN.md, "Metrics: significance"), with maintained code: scipy's Friedman and Wilcoxon tests and
studentized range, scikit-posthocs' Nemenyi test; Holm's step-down correction is three lines here, because
statsmodels' `multipletests` runs a full garbage collection on every call (about a second once torch is loaded,
per table column); tests check it against statsmodels.

- Ranks over blocks: each (task, seed) ranks the methods; the Friedman test asks whether any method ranks
  differently from the others, Nemenyi's test which pairs do (critical difference CD = q_alpha * sqrt(k(k+1)/6N)).
- Cells: each method against the column's best over the seeds both have (two-sided Wilcoxon signed-rank),
  Holm-corrected over the column: a mark says "significantly worse than the best", no mark "not shown to differ".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scikit_posthocs
from scipy.stats import friedmanchisquare, studentized_range, wilcoxon

from fmsbench.metrics import ALPHA, average_rank


@dataclass
class RankTest:
    """Average ranks of `methods` over `n_blocks` complete (task, seed) blocks at one budget, with the Friedman
    test and Nemenyi's pairwise p-values (NaN without enough methods or blocks)."""

    metric: str
    budget: int
    ranks: pd.Series
    n_blocks: int
    statistic: float
    p_value: float
    critical_difference: float
    pairwise: pd.DataFrame
    left_out: dict[str, str]

    @property
    def best(self) -> str:
        return str(self.ranks.idxmin())

    def differs_from_best(self, method: str) -> bool:
        """Nemenyi: `method`'s average rank differs significantly from the best-ranked method's."""
        p = self.pairwise.loc[method, self.best] if method in self.pairwise.index else math.nan
        return method != self.best and bool(p < ALPHA)


def rank_test(metric: str, budget: int, scores: pd.DataFrame, higher_is_better: bool,
              left_out: dict[str, str] | None = None) -> RankTest:
    """`scores`: one row per block, one column per method; NaN marks a value that cannot be ranked (its block is
    dropped). Friedman and Nemenyi need at least 3 methods and 2 blocks."""
    complete = scores.dropna()
    oriented = -complete if higher_is_better else complete
    ranks = average_rank(oriented.T) if len(complete) else pd.Series(math.nan, index=scores.columns)
    k, n = complete.shape[1], complete.shape[0]
    statistic = p_value = cd = math.nan
    pairwise = pd.DataFrame(math.nan, index=scores.columns, columns=scores.columns)
    if k >= 3 and n >= 2:
        if oriented.nunique(axis=1).gt(1).any():  # every block tied: no evidence either way
            statistic, p_value = (float(v) for v in friedmanchisquare(*oriented.to_numpy().T))
            pairwise = scikit_posthocs.posthoc_nemenyi_friedman(oriented.to_numpy())
            pairwise.index = pairwise.columns = scores.columns
        else:
            statistic, p_value = 0.0, 1.0
            pairwise = pd.DataFrame(1.0, index=scores.columns, columns=scores.columns)
        cd = float(studentized_range.ppf(1 - ALPHA, k, np.inf) / math.sqrt(2) * math.sqrt(k * (k + 1) / (6 * n)))
    return RankTest(metric, budget, ranks, n, statistic, p_value, cd, pairwise, dict(left_out or {}))


def paired_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of paired samples; 1 when they never differ, NaN below 2 pairs."""
    if len(x) < 2:
        return math.nan
    if np.all(np.asarray(x) == np.asarray(y)):
        return 1.0
    return float(wilcoxon(x, y).pvalue)


def versus_best(values: dict[str, dict[int, float]], best: str) -> dict[str, float]:
    """Holm-corrected Wilcoxon p of every method against `best` over the seeds both have finite values for
    (`values`: method -> seed -> value); NaN where no test is possible. `best` itself gets no p-value."""
    raw: dict[str, float] = {}
    for method, by_seed in values.items():
        if method == best:
            continue
        seeds = sorted(s for s in by_seed if s in values[best]
                       and math.isfinite(by_seed[s]) and math.isfinite(values[best][s]))
        raw[method] = paired_p(np.array([by_seed[s] for s in seeds]), np.array([values[best][s] for s in seeds]))
    tested = [m for m, p in raw.items() if math.isfinite(p)]
    adjusted = dict(zip(tested, holm([raw[m] for m in tested]), strict=True))
    return {m: float(adjusted.get(m, math.nan)) for m in raw}


def holm(p_values: list[float]) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values, in the input's order: the i-th smallest p times (m - i + 1),
    made monotone, capped at 1."""
    p = np.asarray(p_values, float)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1)))
    return adjusted


def smallest_p(n_pairs: int) -> float:
    """The smallest two-sided p the exact Wilcoxon signed-rank test can give with `n_pairs` pairs."""
    return 2.0 / 2**n_pairs if n_pairs > 0 else math.nan
