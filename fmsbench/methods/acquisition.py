"""Multi-fidelity expected improvement, as in DyHPO (Wistuba et al. 2022, arXiv 2202.09774).

Every candidate c is scored at its next fidelity b_c + 1 against the best value observed at that
fidelity, as DyHPO's `calculate_fidelity_ymax` computes it: the best value at exactly epoch b among the configs
trained to at least b; only while no config has reached b, the best value any config has shown. The highest score
wins; ties go to the lowest config id.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from fmsbench.replay.observation import Observation


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: np.ndarray | float) -> np.ndarray:
    """EI = (mu - y_best) Phi(z) + sigma phi(z), z = (mu - y_best) / sigma; max(mu - y_best, 0) where sigma = 0.

    Shapes: mean, std [N]; best scalar or [N]. Returns [N].
    """
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    improvement = mean - np.asarray(best, float)
    safe_std = np.where(std > 0, std, 1.0)
    z = improvement / safe_std
    ei = improvement * norm.cdf(z) + safe_std * norm.pdf(z)
    return np.where(std > 0, ei, np.maximum(improvement, 0.0))


def best_at_fidelity(obs: Observation, fidelities: np.ndarray) -> np.ndarray:
    """For each fidelity b: the best validation accuracy at epoch b of the configs trained to b or further; where
    none is, the best value of any observed config at any epoch; -inf before any observation.

    Shapes: fidelities [N] (epochs, 1..max_epoch). Returns [N].
    """
    observed = obs.observed()
    fidelities = np.asarray(fidelities, int)
    if observed.size == 0:
        return np.full(fidelities.shape, -np.inf)
    held = np.full((observed.size, obs.max_epoch), -np.inf)
    for row, config in enumerate(observed):
        curve = obs.curve(int(config))
        held[row, : curve.size] = curve
    at_epoch = held.max(axis=0)  # -inf where no config reached that epoch
    return np.where(np.isfinite(at_epoch), at_epoch, held.max())[fidelities - 1]
