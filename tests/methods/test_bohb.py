"""BOHB: random draws until its TPE model has enough points, then the density ratio l(x) / g(x)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.nonparametric.kernel_density import KDEMultivariate

from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.methods.bohb import kde_log_density
from fmsbench.methods.encoding import HyperparameterEncoder
from fmsbench.replay import Observation, replay


def _log_kde(data: np.ndarray, points: np.ndarray, levels: int) -> np.ndarray:
    """BOHB's KDE written out independently, one data point at a time: Gaussian kernels on the numeric columns,
    Aitchison-Aitken on the last (model index / model count), normal-reference bandwidths (d counts the model
    once)."""
    n, d = data.shape
    bw = np.maximum(1.06 * data.std(axis=0) * n ** (-1 / (d + 4)), 1e-3)
    lam = min(bw[-1], (levels - 1) / levels)
    density = np.zeros(len(points))
    for row in data:
        gauss = norm.pdf(points[:, :-1], loc=row[:-1], scale=bw[:-1]).prod(axis=1)
        density += gauss * np.where(points[:, -1] == row[-1], 1 - lam, lam / (levels - 1))
    return np.log(density / n)


def _bohb_points(bench: Benchmark) -> np.ndarray:
    encoder = HyperparameterEncoder(bench.search_space)
    numeric = encoder.encode(bench.configs)[:, :encoder.n_numeric]
    return np.column_stack([numeric, bench.configs["model"].to_numpy(float) / len(bench.search_space["model"])])


def test_bohb_draws_at_random_until_its_model_exists(synth_hub: Path) -> None:
    settings = {"min_points_in_model": 3, "random_fraction": 0.0}  # a model once 6 configs have 1 epoch
    with Benchmark(synth_hub) as bench:
        bohb = replay(METHODS.get("bohb")(2, **settings), bench, 30).steps
        hyperband = replay(METHODS.get("hyperband")(2), bench, 30).steps
        val = bench.all_curves("val_acc")
        x, levels = _bohb_points(bench), len(bench.search_space["model"])
    assert [(s.config, s.epoch) for s in bohb[:6]] == [(s.config, s.epoch) for s in hyperband[:6]]
    first = np.array([s.config for s in bohb[:6]])
    order = first[np.argsort(-val[first, 1], kind="stable")]
    untouched = np.setdiff1d(np.arange(len(x)), first)
    good, bad = x[order[:3]], x[order[3:]]
    ratio = _log_kde(good, x[untouched], levels) - _log_kde(bad, x[untouched], levels)
    assert bohb[6].config == untouched[np.argmax(ratio)] and bohb[6].epoch == 1
    assert [s.config for s in bohb] != [s.config for s in hyperband]


def test_bohb_model_needs_enough_points(synth_hub: Path) -> None:
    with Benchmark(synth_hub) as bench:
        trained = np.zeros(bench.n_configs, np.int64)
        obs = Observation(bench, trained, 100)
        method = METHODS.get("bohb")(0, random_fraction=0.0)  # default min points: d + 1 = 7 (5 numeric + the model)
        method.propose(obs)  # sets up the schedule
        trained[:13] = 1
        assert method.model_scores(obs, np.arange(13, 40)) is None
        trained[13] = 1
        assert method.model_scores(obs, np.arange(14, 40)).shape == (26,)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # statsmodels' own, about its random generator
def test_bohb_kde_is_statsmodels_mixed_kernel_where_that_counts_levels_right() -> None:
    """Where every model occurs in the data (statsmodels counts a categorical's levels from the data) and lambda
    is below its cap, the density is KDEMultivariate's with var_type "ccu", the estimator BOHB builds."""
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.random((40, 2)), np.arange(40) % 4 / 4])
    points = np.column_stack([rng.random((5, 2)), np.array([0, 1, 2, 3, 1]) / 4])
    bandwidth = 1.06 * data.std(axis=0) * 40 ** (-1 / (3 + 4))
    assert bandwidth[-1] < (4 - 1) / 4
    reference = KDEMultivariate(data, var_type="ccu", bw=bandwidth).pdf(points)
    ours = kde_log_density(data, points, levels=4, min_bandwidth=1e-3)
    np.testing.assert_allclose(np.exp(ours), reference, rtol=1e-10)


def test_bohb_model_choice_is_one_categorical() -> None:
    """Two candidates that differ only in their model: the one whose model the good configs share scores higher,
    by the Aitchison-Aitken odds, and no farther apart for the models' index distance (it is unordered)."""
    rng = np.random.default_rng(1)
    numeric = rng.random((8, 2))
    good = np.column_stack([numeric[:4], np.array([5, 5, 5, 5]) / 32])
    bad = np.column_stack([numeric[4:], np.array([0, 1, 2, 3]) / 32])
    candidates = np.array([[0.5, 0.5, 5 / 32], [0.5, 0.5, 6 / 32], [0.5, 0.5, 31 / 32]])
    log_good = kde_log_density(good, candidates, levels=32, min_bandwidth=1e-3)
    assert log_good[0] > log_good[1] == pytest.approx(log_good[2])
    assert np.isfinite(kde_log_density(bad, candidates, levels=32, min_bandwidth=1e-3)).all()
