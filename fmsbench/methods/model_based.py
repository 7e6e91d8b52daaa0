"""The step logic shared by every surrogate-based method (gp, dyhpo, fms-*): DyHPO's multi-fidelity race.

DyHPO (Wistuba et al. 2022, arXiv 2202.09774) as fixed by DESIGN.md: `n_initial` seeded random configs
(without replacement) are trained for one epoch each; then at every step the surrogate is fitted to
everything observed, each candidate c is scored by expected improvement at b_c + 1 against the best value
observed at that fidelity, and the winner is trained for one more epoch. (The released FMS code doubled
its steps, 1, 3, 7, 15, ... epochs; here every step is one epoch.)

Subclasses implement `fit` (train on the observations; False after a numerical failure) and `predict`
(mean and std at given (config, epoch) pairs, conditioned on every observation so far). If the surrogate
cannot be fitted, the step falls back to a random candidate, so a long run never dies of one bad Cholesky.
"""

from __future__ import annotations

import time
from abc import abstractmethod

import numpy as np

from fmsbench.errors import FmsbenchError
from fmsbench.methods.acquisition import best_at_fidelity, expected_improvement
from fmsbench.replay.observation import Observation
from fmsbench.replay.protocol import Method, Proposal


class ModelBasedMethod(Method):
    """Initial random design, then one-epoch steps chosen by multi-fidelity EI."""

    has_surrogate = True

    def __init__(self, seed: int, n_initial: int) -> None:
        super().__init__()
        if n_initial < 1:
            raise FmsbenchError(f"n_initial must be at least 1 (the surrogate needs data), got {n_initial}")
        self.rng = np.random.default_rng(seed)
        self.n_initial = n_initial
        self._initial: list[int] | None = None
        self._fitted = False

    def propose(self, obs: Observation) -> Proposal:
        self.fit_seconds = 0.0
        if self._initial is None:
            order = self.rng.permutation(obs.n_configs)[: min(self.n_initial, obs.n_configs)]
            self._initial = [int(c) for c in order]
        while self._initial:
            config = self._initial.pop(0)
            if obs.epochs(config) == 0:
                return Proposal(config, 1)
        candidates = obs.candidates()
        fidelities = np.array([obs.epochs(int(c)) + 1 for c in candidates])
        start = time.perf_counter()
        self._fitted = self.fit(obs)
        scores = None
        if self._fitted:
            prediction = self.predict(obs, candidates, fidelities)
            if prediction is not None:
                scores = expected_improvement(*prediction, best_at_fidelity(obs, fidelities))
        self.fit_seconds = time.perf_counter() - start
        if scores is None:
            choice = int(self.rng.integers(candidates.size))
        else:
            choice = int(np.argmax(scores))
        return Proposal(int(candidates[choice]), int(fidelities[choice]))

    def forecast(self, obs: Observation, epochs: np.ndarray) -> np.ndarray | None:
        if not self._fitted:
            return None
        prediction = self.predict(obs, np.arange(obs.n_configs), np.asarray(epochs, int))
        return None if prediction is None else prediction[0]

    @abstractmethod
    def fit(self, obs: Observation) -> bool:
        """Train the surrogate on every paid (config, epoch); False if it failed numerically."""

    @abstractmethod
    def predict(self, obs: Observation, configs: np.ndarray, epochs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Mean and std of validation accuracy of `configs` at `epochs` ([N] each), or None on numerical failure.

        Must not change the fitted state nor draw random numbers (it also serves Kendall's tau).
        """


def paid_rows(obs: Observation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every paid (config, epoch >= 1) with its validation accuracy: the surrogates' training targets ([N] each)."""
    configs, epochs, values = [], [], []
    for config in obs.observed():
        curve = obs.curve(int(config))
        configs.extend([int(config)] * curve.size)
        epochs.extend(range(1, curve.size + 1))
        values.extend(curve.tolist())
    return np.array(configs, int), np.array(epochs, int), np.array(values, np.float32)
