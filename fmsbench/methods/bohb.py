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
- l(x) and g(x) are product-kernel KDEs, as BOHB builds them with statsmodels' KDEMultivariate: a Gaussian
  kernel on each numeric hyperparameter encoded to [0, 1] (`encoding.HyperparameterEncoder`) and an
  Aitchison-Aitken kernel on the pretrained-model choice, an unordered categorical (weight 1 - lambda where the
  model matches, lambda / (c - 1) elsewhere, c = the hub's model count). Bandwidths are the normal-reference
  rule 1.06 * std * n^(-1 / (d + 4)) per dimension, clipped below at `min_bandwidth`; the model's is computed on
  its index divided by c, as Syne Tune's KDE searcher (its BOHB) encodes a categorical (on the raw index, as
  hpbandster has it, lambda exceeds 1 for 32 models: a match would weigh less than a mismatch), and clipped above
  at (c - 1) / c, where the kernel is flat. KDEMultivariate itself is not called: it counts a categorical's levels
  from the data, which divides by zero when every good config shares one model.
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
from scipy.special import logsumexp
from scipy.stats import norm

from fmsbench.errors import FmsbenchError
from fmsbench.methods.base import METHODS, build_settings
from fmsbench.methods.encoding import HyperparameterEncoder
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


def kde_log_density(data: np.ndarray, points: np.ndarray, levels: int, min_bandwidth: float) -> np.ndarray:
    """log of BOHB's product-kernel KDE of `data` [n, d] at `points` [m, d].

    Columns are numeric hyperparameters in [0, 1], except the last when `levels` > 1: the model, a categorical
    with `levels` values, as its index / `levels` (see the module docstring for the kernels and bandwidths).
    """
    n, d = data.shape
    numeric = d - (levels > 1)
    bandwidth = np.maximum(1.06 * data.std(axis=0) * n ** (-1.0 / (d + 4)), min_bandwidth)
    log_kernels = norm.logpdf(points[:, None, :numeric], data[None, :, :numeric], bandwidth[:numeric]).sum(axis=2)
    if levels > 1:
        flat = np.clip(bandwidth[-1], min_bandwidth, (levels - 1) / levels)
        match = points[:, None, -1] == data[None, :, -1]
        log_kernels += np.where(match, np.log1p(-flat), np.log(flat / (levels - 1)))
    return logsumexp(log_kernels, axis=1) - np.log(n)


def tpe_scores(x: np.ndarray, y: np.ndarray, candidates: np.ndarray, levels: int, top_fraction: float,
               min_points: int, min_bandwidth: float) -> np.ndarray | None:
    """log l(x) - log g(x) of every candidate [m], or None when the good or the bad set is below `min_points`.

    Args: x [n, d] observed configs as `kde_log_density` takes them, y [n] their validation accuracy (higher is
    better), candidates [m, d] configs to score, levels the model count.
    """
    n_good = max(min_points, int(top_fraction * y.size))
    if y.size - n_good < min_points:
        return None
    order = np.argsort(-y, kind="stable")
    good, bad = x[order[:n_good]], x[order[n_good:]]
    return (kde_log_density(good, candidates, levels, min_bandwidth)
            - kde_log_density(bad, candidates, levels, min_bandwidth))


class BOHB(Hyperband):
    """Hyperband whose new configs maximise a TPE density ratio l(x) / g(x) over the untouched configs."""

    _settings: BOHBSettings

    def __init__(self, seed: int, settings: BOHBSettings) -> None:
        super().__init__(seed, settings)
        self._points: np.ndarray | None = None
        self._levels = 0

    def points(self, obs: Observation) -> np.ndarray:
        """Every config as `kde_log_density` takes it [config, d]: the numeric hyperparameters scaled to [0, 1],
        then the model index / model count when the hub has several models (computed once; the configs never
        change)."""
        if self._points is None:
            encoder = HyperparameterEncoder(obs.search_space)
            columns = [encoder.encode(obs.configs)[:, :encoder.n_numeric].astype(np.float64)]
            if encoder.n_models > 1:
                columns.append(obs.configs["model"].to_numpy(np.float64)[:, None] / encoder.n_models)
            self._points, self._levels = np.concatenate(columns, axis=1), encoder.n_models
        return self._points

    def model_scores(self, obs: Observation, configs: np.ndarray) -> np.ndarray | None:
        """log l - log g of `configs` from the largest rung epoch that has a model, or None if none has one."""
        x = self.points(obs)
        if x.shape[1] == 0:  # every hyperparameter has a single value: nothing to model
            return None
        settings = self._settings
        min_points = settings.min_points_in_model or x.shape[1] + 1  # d + 1, the model choice counted once
        trained = obs.trained()
        budgets = sorted({epoch for bracket in self.schedule for _, epoch in bracket}, reverse=True)
        for epoch in budgets:
            seen = np.flatnonzero(trained >= epoch)
            if seen.size < 2 * min_points:  # tpe_scores needs min_points good and min_points bad configs
                continue
            y = np.array([rung_value(obs, int(config), epoch) for config in seen])
            scores = tpe_scores(x[seen], y, x[configs], self._levels, settings.top_fraction, min_points,
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
