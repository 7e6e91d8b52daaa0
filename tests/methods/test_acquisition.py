"""Multi-fidelity EI against its closed form, and DyHPO's best value per fidelity."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods.acquisition import best_at_fidelity, expected_improvement
from fmsbench.replay.observation import Observation


def _closed_form(mu: float, sigma: float, best: float) -> float:
    z = (mu - best) / sigma
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return (mu - best) * cdf + sigma * pdf


def test_expected_improvement_closed_form() -> None:
    mean = np.array([0.5, 0.7, 0.3, 0.6, 0.4])
    std = np.array([0.1, 0.2, 0.05, 0.0, 0.0])
    ei = expected_improvement(mean, std, 0.5)
    assert ei[0] == pytest.approx(0.1 / math.sqrt(2 * math.pi))  # at the incumbent: sigma * phi(0)
    assert ei[1] == pytest.approx(0.2 * (0.8413447460685429 + 0.24197072451914337))  # z = 1
    assert ei[2] == pytest.approx(_closed_form(0.3, 0.05, 0.5))
    assert ei[3:] == pytest.approx([0.1, 0.0])  # no uncertainty: the plain improvement
    assert (ei >= 0).all()


def test_expected_improvement_per_candidate_best() -> None:
    ei = expected_improvement(np.array([0.5, 0.5]), np.array([0.1, 0.1]), np.array([0.4, 0.6]))
    assert ei == pytest.approx([_closed_form(0.5, 0.1, 0.4), _closed_form(0.5, 0.1, 0.6)])


def test_best_at_fidelity_counts_only_configs_that_reached_it(hand_hub: Path) -> None:
    """DyHPO's calculate_fidelity_ymax: config 0 (0.5 at epoch 1, stopped there) does not count at epoch 2, where
    config 2 (trained to 3) has 0.3; at an epoch nobody reached, the best value seen anywhere counts."""
    with Benchmark(hand_hub) as bench:
        obs = Observation(bench, np.array([1, 0, 3]), budget=9)
        assert best_at_fidelity(obs, np.array([1, 2, 3, 2])) == pytest.approx([0.5, 0.3, 0.9, 0.3])
        early = Observation(bench, np.array([2, 0, 1]), budget=9)
        assert best_at_fidelity(early, np.array([1, 2, 3])) == pytest.approx([0.5, 0.6, 0.6])
        empty = Observation(bench, np.zeros(3, int), budget=9)
        assert best_at_fidelity(empty, np.array([1])) == [-np.inf]
