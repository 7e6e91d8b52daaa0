"""Significance: Friedman/Nemenyi over (task, seed) blocks, Wilcoxon-Holm against a column's best."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from fmsbench.report.stats import holm, rank_test, smallest_p, versus_best


def _blocks(n: int, seed: int = 0) -> pd.DataFrame:
    """Regret-like scores: a < b < c in most blocks, with noise."""
    rng = np.random.default_rng(seed)
    base = np.array([0.1, 0.2, 0.3])
    return pd.DataFrame(base + rng.normal(0, 0.05, (n, 3)), columns=["a", "b", "c"])


def test_friedman_and_nemenyi_find_a_clear_order() -> None:
    test = rank_test("regret", 50, _blocks(20), higher_is_better=False)
    assert test.ranks.idxmin() == "a" and test.ranks.idxmax() == "c" and test.n_blocks == 20
    assert test.ranks.sum() == pytest.approx(6)  # 1 + 2 + 3 per block
    assert test.p_value < 1e-4 and test.differs_from_best("c") and not test.differs_from_best("a")
    # Demšar (2006), Table 5a: q_0.05 = 2.343 for 3 classifiers; CD = q sqrt(k (k + 1) / 6N)
    assert test.critical_difference == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 20)), abs=1e-3)


def test_direction_and_dropped_blocks() -> None:
    scores = _blocks(10)
    scores.iloc[0, 1] = math.nan  # an undefined value drops its block
    test = rank_test("tau", 50, scores, higher_is_better=True)
    assert test.n_blocks == 9 and test.best == "c"  # higher is better: the largest values rank first


def test_no_friedman_below_three_methods_and_ties_are_no_evidence() -> None:
    two = rank_test("tau", 50, _blocks(10)[["a", "b"]], higher_is_better=True)
    assert math.isnan(two.p_value) and two.n_blocks == 10
    tied = rank_test("regret", 50, pd.DataFrame(0.0, index=range(5), columns=["a", "b", "c"]), False)
    assert tied.p_value == 1.0 and (tied.ranks == 2.0).all() and not tied.differs_from_best("b")


def test_versus_best_pairs_seeds_and_corrects() -> None:
    seeds = range(10)
    values = {"best": {s: 0.0 for s in seeds}, "worse": {s: 0.1 + 0.01 * s for s in seeds},
              "same": {s: 0.0 for s in seeds}, "short": {0: 0.5, 1: 0.6, 2: 0.7}}
    p = versus_best(values, "best")
    assert set(p) == {"worse", "same", "short"}
    assert p["worse"] < 0.05 and p["same"] == 1.0
    assert p["short"] >= smallest_p(3) == 0.25  # three pairs can never be significant
    assert smallest_p(5) == 0.0625 and smallest_p(10) < 0.002


def test_holm_matches_statsmodels() -> None:
    p = np.random.default_rng(1).uniform(0, 0.2, 12)
    assert holm(list(p)) == pytest.approx(multipletests(p, method="holm")[1])
