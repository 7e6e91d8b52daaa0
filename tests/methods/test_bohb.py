"""BOHB: random draws until its TPE model has enough points, then the density ratio l(x) / g(x)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.methods.encoding import HyperparameterEncoder
from fmsbench.replay import Observation, replay


def _tpe_log_ratio(good: np.ndarray, bad: np.ndarray, points: np.ndarray) -> np.ndarray:
    """log l - log g of product-Gaussian KDEs with normal-reference bandwidths, written out independently."""

    def log_kde(data: np.ndarray) -> np.ndarray:
        n, d = data.shape
        bw = np.maximum(1.06 * data.std(axis=0) * n ** (-1 / (d + 4)), 1e-3)
        log_kernels = norm.logpdf(points[:, None, :], loc=data[None, :, :], scale=bw).sum(axis=2)
        return logsumexp(log_kernels, axis=1) - np.log(n)

    return log_kde(good) - log_kde(bad)


def test_bohb_draws_at_random_until_its_model_exists(synth_hub: Path) -> None:
    settings = {"min_points_in_model": 3, "random_fraction": 0.0}  # a model once 6 configs have 1 epoch
    with Benchmark(synth_hub) as bench:
        bohb = replay(METHODS.get("bohb")(2, **settings), bench, 30).steps
        hyperband = replay(METHODS.get("hyperband")(2), bench, 30).steps
        val = bench.all_curves("val_acc")
        x = HyperparameterEncoder(bench.search_space).encode(bench.configs)
    assert [(s.config, s.epoch) for s in bohb[:6]] == [(s.config, s.epoch) for s in hyperband[:6]]
    first = np.array([s.config for s in bohb[:6]])
    order = first[np.argsort(-val[first, 1], kind="stable")]
    untouched = np.setdiff1d(np.arange(len(x)), first)
    ratio = _tpe_log_ratio(x[order[:3]], x[order[3:]], x[untouched])
    assert bohb[6].config == untouched[np.argmax(ratio)] and bohb[6].epoch == 1
    assert [s.config for s in bohb] != [s.config for s in hyperband]


def test_bohb_model_needs_enough_points(synth_hub: Path) -> None:
    with Benchmark(synth_hub) as bench:
        trained = np.zeros(bench.n_configs, np.int64)
        obs = Observation(bench, trained, 100)
        method = METHODS.get("bohb")(0, random_fraction=0.0)  # default min points: d + 1 = 7 (5 columns + model)
        method.propose(obs)  # sets up the schedule
        trained[:13] = 1
        assert method.model_scores(obs, np.arange(13, 40)) is None
        trained[13] = 1
        assert method.model_scores(obs, np.arange(14, 40)).shape == (26,)
