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

- Headroom of a hub task (what the data allow, `fmsbench.hub.headroom`): noise ceiling = tau(final val, final
  test) over configs; curve ceiling = tau(val at epoch k, final val), k = 1, 3; hyperparameter ceiling = tau of a
  cross-validated regressor on the hyperparameters given the finals of N random configs (N = 20, all); share of
  configs within 0.5% / 1% of y*; share at chance (`at_chance`).
- Significance: over tasks x seeds, the Friedman test on ranks with Nemenyi's post-hoc test (critical-difference
  diagram); per table cell, the Wilcoxon signed-rank test against the column's best over paired seeds, Holm-corrected.

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

CHANCE_FACTOR = 1.5  # at chance: accuracy <= CHANCE_FACTOR / classes
FLAT_SPAN = 0.01  # a flat curve moves by less than this over epochs 1..max
NEAR_BEST = (0.005, 0.01)  # "within 0.5% / 1% of y*", in accuracy
ALPHA = 0.05  # significance level of every test in the reports
FEW_CONFIGS, FEW_DRAWS, CV_FOLDS, FOREST_TREES = 20, 10, 5, 100  # the hyperparameter ceiling's protocol

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
    "aggregation": "mean ± standard error over seeds, with n = the seeds whose value is defined.",
    "average rank": "each (task, seed) ranks the methods run on every task (1 = best: lowest regret, highest tau; "
                    "ties share the mean rank; regret before a method's first finished step counts as the worst); "
                    "the average over these blocks.",
    "significance (ranks)": f"Friedman test over the (task, seed) blocks, then Nemenyi's post-hoc test: two methods "
                            f"differ when their average ranks differ by more than the critical difference (alpha "
                            f"{ALPHA:g}).",
    "significance (cells)": f"per table column, two-sided Wilcoxon signed-rank test of each method against the "
                            f"column's best over the seeds both have, Holm-corrected over the column (alpha {ALPHA:g}); "
                            f"with n paired seeds no p below 2 / 2^n is attainable (n = 5: 0.0625).",
    "overhead": "the method's own compute (surrogate fitting and acquisition), measured on the machine that ran it: "
                "it varies between identical runs; seconds = simulated training seconds (the hub's recorded epoch "
                "times of every epoch paid) + overhead.",
    "at chance": f"a config whose final validation accuracy is <= {CHANCE_FACTOR:g} / number of classes; a "
                 f"pretrained model whose final pretraining validation accuracy is <= {CHANCE_FACTOR:g} / its "
                 f"pretraining classes.",
    "flat curve": f"a config whose validation accuracy over epochs 1..max moves by less than {FLAT_SPAN:g}.",
    "noise ceiling": "tau-b between final validation and final test accuracy over the task's configs: how far "
                     "the validation set itself ranks configs as the test set does.",
    "curve ceiling": "tau-b between the validation accuracy at epoch k (k = 1, 3) and at the max epoch, over "
                     "configs: what the first k epochs of every curve tell about the final ranking.",
    "hyperparameter ceiling": f"tau-b of a random forest ({FOREST_TREES} trees, seeded) on the hyperparameters "
                              f"(lr, weight decay, batch size, momentum, dropout as numbers, since a forest only uses "
                              f"their order, and the pretrained model one-hot) given the "
                              f"final validation accuracy of N = {FEW_CONFIGS} random configs, ranking the others "
                              f"(mean over {FEW_DRAWS} seeded draws), and given all configs ({CV_FOLDS}-fold "
                              f"out-of-fold predictions).",
    "near y*": "share of configs whose best validation accuracy at any epoch is within 0.005 (0.5%) or 0.01 (1%) "
               "of y*: the chance that one random config reaches that regret.",
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


def chance_level(num_classes: int) -> float:
    """The accuracy at or below which a model counts as at chance (see DEFINITIONS["at chance"])."""
    return CHANCE_FACTOR / num_classes


def at_chance(accuracy: np.ndarray | float, num_classes: int) -> np.ndarray:
    """True where `accuracy` is at chance for a `num_classes`-way problem (hubs store accuracies as float32: an
    accuracy of exactly 1.5 / classes, such as 45 of 300 on 10 classes, counts whatever its rounding)."""
    return np.asarray(accuracy, float) <= chance_level(num_classes) + 1e-6


def flat_curves(val: np.ndarray) -> np.ndarray:
    """True per config whose validation curve [config, epoch 0..E] moves by less than FLAT_SPAN over epochs 1..E."""
    fine_tuned = np.asarray(val)[:, 1:]
    return np.ptp(fine_tuned, axis=1) < FLAT_SPAN


def near_best_share(best_val: np.ndarray, y_star: float, within: float) -> float:
    """Share of configs whose best validation accuracy (any epoch, [config]) is within `within` of y*."""
    return float(np.mean(np.asarray(best_val) >= y_star - within - 1e-9))
