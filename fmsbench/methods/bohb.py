"""`bohb`: Hyperband's brackets whose new configs come from a TPE-style density-ratio model.

BOHB (Falkner et al. 2018, "BOHB: Robust and Efficient Hyperparameter Optimization at Scale",
arXiv 1807.01774) on the replay loop: brackets, rung epochs and continuation costs are `hyperband`'s (see
`successive_halving`). Each new config of a bracket is chosen right before it is started, from everything
paid so far:
- The model is built at the largest rung epoch r with enough observations: every config trained to at
  least r, with its validation accuracy at r (the replay reveals whole paid curves, so a config trained
  further also counts at the lower rungs). The top max(min_points, floor(top_fraction * N)) are "good",
  the rest "bad"; both need at least `min_points` (default d + 1 for d hyperparameters, as BOHB counts them:
  the pretrained-model choice is one, not one per one-hot column; counting columns kept the model from ever
  being built within 100 epochs on a hub of 32 pool models, which made BOHB Hyperband).
- l(x) and g(x) are product-Gaussian KDEs on the hyperparameters encoded to [0, 1]
  (`encoding.HyperparameterEncoder`), with BOHB's per-dimension normal-reference bandwidths
  1.06 * std * n^(-1 / (d + 4)) clipped below at `min_bandwidth` (statsmodels' rule, which BOHB uses);
  every encoded column, the one-hot model choice included, is treated as continuous.
- The hub's configs are a finite set, so instead of sampling candidates from l (BOHB's `num_samples`, with
  l's bandwidths widened by `bandwidth_factor`) every untouched config is scored and the one maximising
  l(x) / g(x) is chosen.
- While no model can be built, and with probability `random_fraction` once one can, the config is drawn
  uniformly at random (without replacement), exactly as `hyperband` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.neighbors import KernelDensity

from fmsbench.errors import FmsbenchError
from fmsbench.methods.base import METHODS, build_settings
from fmsbench.methods.encoding import EncodedConfigs
from fmsbench.methods.successive_halving import Hyperband, SuccessiveHalvingSettings, random_untouched, rung_value
from fmsbench.replay.observation import Observation


@dataclass(frozen=True)
class BOHBSettings(SuccessiveHalvingSettings):
    """Hyperband's eta / min_epoch / max_epoch, plus the model's: random_fraction of new configs drawn at
    random (1/3); top_fraction of a rung's observations that are "good" (0.15); min_points_in_model per KDE
    (None: d + 1); min_bandwidth of any KDE dimension (1e-3). Defaults are BOHB's."""

    random_fraction: float = 1 / 3
    top_fraction: float = 0.15
    min_points_in_model: int | None = None
    min_bandwidth: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.random_fraction <= 1.0:
            raise FmsbenchError(f"random_fraction must be in [0, 1], got {self.random_fraction}")
        if not 0.0 < self.top_fraction < 1.0:
            raise FmsbenchError(f"top_fraction must be in (0, 1), got {self.top_fraction}")
        if self.min_points_in_model is not None and self.min_points_in_model < 1:
            raise FmsbenchError(f"min_points_in_model must be at least 1, got {self.min_points_in_model}")
        if self.min_bandwidth <= 0:
            raise FmsbenchError(f"min_bandwidth must be positive, got {self.min_bandwidth}")


def kde_log_density(data: np.ndarray, points: np.ndarray, min_bandwidth: float) -> np.ndarray:
    """log of a product-Gaussian KDE of `data` [n, d] at `points` [m, d] with normal-reference bandwidths.

    sklearn's KernelDensity has one bandwidth; dividing every column by its own bandwidth and subtracting the
    log of their product gives the per-dimension kernel.
    """
    n, d = data.shape
    bandwidth = np.maximum(1.06 * data.std(axis=0) * n ** (-1.0 / (d + 4)), min_bandwidth)
    kde = KernelDensity(kernel="gaussian", bandwidth=1.0).fit(data / bandwidth)
    return kde.score_samples(points / bandwidth) - float(np.log(bandwidth).sum())


def tpe_scores(x: np.ndarray, y: np.ndarray, candidates: np.ndarray, top_fraction: float, min_points: int,
               min_bandwidth: float) -> np.ndarray | None:
    """log l(x) - log g(x) of every candidate [m], or None when the good or the bad set is below `min_points`.

    Args: x [n, d] encoded observed configs, y [n] their validation accuracy (higher is better),
    candidates [m, d] encoded configs to score.
    """
    n_good = max(min_points, int(top_fraction * y.size))
    if y.size - n_good < min_points:
        return None
    order = np.argsort(-y, kind="stable")
    good, bad = x[order[:n_good]], x[order[n_good:]]
    return kde_log_density(good, candidates, min_bandwidth) - kde_log_density(bad, candidates, min_bandwidth)


class BOHB(Hyperband):
    """Hyperband whose new configs maximise a TPE density ratio l(x) / g(x) over the untouched configs."""

    _settings: BOHBSettings

    def __init__(self, seed: int, settings: BOHBSettings) -> None:
        super().__init__(seed, settings)
        self._encoded = EncodedConfigs()

    def model_scores(self, obs: Observation, configs: np.ndarray) -> np.ndarray | None:
        """log l - log g of `configs` from the largest rung epoch that has a model, or None if none has one."""
        x = self._encoded(obs)
        if x.shape[1] == 0:  # every hyperparameter has a single value: nothing to model
            return None
        settings = self._settings
        assert self._encoded.encoder is not None
        min_points = settings.min_points_in_model or self._encoded.encoder.n_hyperparameters + 1
        trained = obs.trained()
        budgets = sorted({epoch for bracket in self.schedule for _, epoch in bracket}, reverse=True)
        for epoch in budgets:
            seen = np.flatnonzero(trained >= epoch)
            if seen.size < 2 * min_points:  # tpe_scores needs min_points good and min_points bad configs
                continue
            y = np.array([rung_value(obs, int(config), epoch) for config in seen])
            scores = tpe_scores(x[seen], y, x[configs], settings.top_fraction, min_points,
                                settings.min_bandwidth)
            if scores is not None:
                return scores
        return None

    def new_config(self, obs: Observation) -> int | None:
        untouched = np.flatnonzero(obs.trained() == 0)
        if untouched.size:
            scores = self.model_scores(obs, untouched)
            if scores is not None and self.rng.random() >= self._settings.random_fraction:
                return int(untouched[np.argmax(scores)])
        return random_untouched(obs, self.rng)


@METHODS.register("bohb")
def bohb(seed: int, **overrides: Any) -> BOHB:
    """BOHB (Falkner et al. 2018): Hyperband brackets, new configs from a TPE density-ratio model."""
    return BOHB(seed, build_settings(BOHBSettings, overrides))
