"""Metric definitions: the one place they live (DESIGN.md, "Metrics"); the report prints `DEFINITIONS`.

- Regret at cumulative budget B: y* - (best validation accuracy observed by B), where y* is the best
  validation accuracy of any config at any epoch in the hub. Also normalised by (y* - worst final
  validation accuracy), and the test accuracy of the incumbent. Aggregated over seeds as mean and standard
  error, plotted against cumulative epochs; across tasks, the average rank of each method per step.
- Kendall's tau at budget B: tau-b between the surrogate's predicted validation accuracy at the max epoch
  and the true validation accuracy at the max epoch, per config, over all configs of the hub. (The released
  FMS code correlated two lists of config ids, which is wrong.) Methods without a surrogate have no tau.
  Beside it, clearly labelled (`Taus`): the forecast tau (the same predictions over the configs started but not
  finished), the released code's protocol (finished configs scored by their true final value, the others by the
  surrogate) and the next-epoch tau (each unfinished config's prediction at its next epoch b_c + 1 against its
  true validation accuracy there).

"Observed by B" counts a step once it is fully paid: the value at B is the one after the last step whose
cumulative epochs are <= B (the replay loop truncates the last step so the run ends exactly at its budget).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

DEFINITIONS: dict[str, str] = {
    "regret": "y* - (best validation accuracy observed by cumulative budget B); y* = best validation accuracy "
              "of any config at any epoch in the hub.",
    "normalised regret": "regret / (y* - worst final validation accuracy of the hub).",
    "incumbent test acc": "test accuracy of the (config, epoch) with the best validation accuracy observed by B.",
    "kendall tau": "tau-b between the surrogate's predicted and the true validation accuracy at the max epoch, "
                   "per config, over all configs, when the cumulative budget first reaches B; none without a surrogate.",
    "forecast tau": "the same predictions and truth, over the configs started but not finished at B: how well a "
                    "method forecasts the runs it paid for.",
    "protocol tau": "the released FMS code's protocol (without its id-list bug): configs finished by B scored by "
                    "their true final validation accuracy, the others by the surrogate; over all configs.",
    "next-epoch tau": "each unfinished config's predicted validation accuracy at its next epoch (b_c + 1) against "
                      "the true value there, over the configs not finished at B.",
    "aggregation": "mean ± standard error over seeds; average rank = mean over tasks of each method's rank "
                   "(1 = lowest mean regret) at a budget.",
}


def kendall_tau(predicted: Sequence[float] | np.ndarray, true: Sequence[float] | np.ndarray) -> float:
    """Kendall's tau-b between predicted and true final validation accuracy, both indexed by config id.

    NaN when either side is constant or has fewer than two values (tau-b is undefined there).
    """
    predicted, true = np.asarray(predicted, float), np.asarray(true, float)
    if predicted.shape != true.shape:
        raise ValueError(f"predicted has shape {predicted.shape} but true has {true.shape}; give one value per config")
    if predicted.size < 2 or np.ptp(predicted) == 0 or np.ptp(true) == 0:
        return math.nan
    return float(kendalltau(predicted, true, variant="b").statistic)


TAU_KINDS = ("final", "forecast", "protocol", "next")


@dataclass(frozen=True)
class Taus:
    """The four Kendall's taus of one surrogate at one budget (see DEFINITIONS); NaN where undefined."""

    final: float
    forecast: float
    protocol: float
    next: float

    def of(self, kind: str) -> float:
        return float(getattr(self, kind))


def surrogate_taus(final_prediction: np.ndarray, next_prediction: np.ndarray, trained: np.ndarray,
                   val: np.ndarray) -> Taus:
    """The four taus from predictions at the max epoch and at each config's next epoch.

    Shapes: final_prediction, next_prediction, trained (b_c per config) [config]; val [config, epoch 0..E], the
    true validation accuracy curves.
    """
    final_true, max_epoch = val[:, -1], val.shape[1] - 1
    finished, started = trained >= max_epoch, trained > 0
    unfinished = np.flatnonzero(~finished)
    next_true = val[unfinished, trained[unfinished] + 1]
    return Taus(
        final=kendall_tau(final_prediction, final_true),
        forecast=kendall_tau(final_prediction[started & ~finished], final_true[started & ~finished]),
        protocol=kendall_tau(np.where(finished, final_true, final_prediction), final_true),
        next=kendall_tau(next_prediction[unfinished], next_true),
    )


def regret(y_star: float, incumbent_val: float) -> float:
    """y* minus the best validation accuracy observed so far."""
    return y_star - incumbent_val


def normalised_regret(y_star: float, worst_final_val: float, incumbent_val: float) -> float:
    """Regret divided by (y* - worst final validation accuracy); NaN when the hub's range is zero."""
    span = y_star - worst_final_val
    return (y_star - incumbent_val) / span if span > 0 else math.nan


def values_at_budgets(cum_epochs: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray,
                      budgets: Sequence[int] | np.ndarray) -> np.ndarray:
    """The value after the last step with cumulative epochs <= B, for each budget B; NaN before the first step."""
    cum = np.asarray(cum_epochs)
    vals = np.asarray(values, float)
    index = np.searchsorted(cum, np.asarray(budgets), side="right") - 1
    return np.where(index >= 0, vals[np.clip(index, 0, None)] if vals.size else math.nan, math.nan)


def mean_and_sem(values: Sequence[float] | np.ndarray) -> tuple[float, float, int]:
    """Mean, standard error (sample std / sqrt(n); NaN for one seed) and n over the finite values."""
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    n = finite.size
    if n == 0:
        return math.nan, math.nan, 0
    sem = float(finite.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return float(finite.mean()), sem, n


def average_rank(scores: pd.DataFrame) -> pd.Series:
    """Mean over columns (tasks) of each row's (method's) rank within the column; 1 = lowest score, ties averaged."""
    return scores.rank(axis=0, method="average", ascending=True).mean(axis=1)
