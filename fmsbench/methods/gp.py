"""`gp`: a plain exact GP over the scaled hyperparameters plus the budget, no deep kernel.

The "GP" baseline of DyHPO (Wistuba et al. 2022, arXiv 2202.09774): ARD RBF kernel on
[hyperparameters in [0, 1], epoch / max_epoch], one row per paid (config, epoch), targets standardised.
Kernel hyperparameters are refitted from scratch at every step by Adam on the exact marginal likelihood
(cheap: at most one row per epoch of budget). Steps and acquisition are DyHPO's (`ModelBasedMethod`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from fmsbench.methods.base import METHODS, build_settings
from fmsbench.methods.encoding import EncodedConfigs
from fmsbench.methods.gp_parts import NUMERICAL_ERRORS, ExactGPHead, adam, gaussian_likelihood
from fmsbench.methods.model_based import ModelBasedMethod, paid_rows
from fmsbench.replay.observation import Observation


@dataclass(frozen=True)
class GPSettings:
    """n_initial: random one-epoch configs before the first fit (the same for every model-based method);
    fit_steps / learning_rate: Adam on the marginal likelihood, from scratch at every step."""

    n_initial: int = 20
    fit_steps: int = 100
    learning_rate: float = 0.1


class GaussianProcessHPO(ModelBasedMethod):
    """Multi-fidelity GP with ARD on hyperparameters and budget; DyHPO's steps and EI."""

    def __init__(self, seed: int, settings: GPSettings) -> None:
        super().__init__(seed, settings.n_initial)
        self._settings = settings
        self._encoded = EncodedConfigs()
        self._model: ExactGPHead | None = None
        self._shift, self._scale = 0.0, 1.0

    def settings(self) -> dict[str, Any]:
        return asdict(self._settings)

    def _inputs(self, obs: Observation, configs: np.ndarray, epochs: np.ndarray) -> torch.Tensor:
        budget = (np.asarray(epochs, np.float32) / obs.max_epoch)[:, None]
        return torch.from_numpy(np.concatenate([self._encoded(obs)[configs], budget], axis=1))

    def _training_rows(self, obs: Observation) -> tuple[torch.Tensor, torch.Tensor]:
        configs, epochs, values = paid_rows(obs)
        return self._inputs(obs, configs, epochs), torch.from_numpy(values)

    def fit(self, obs: Observation) -> bool:
        x, y = self._training_rows(obs)
        spread = float(y.std()) if y.numel() > 1 else 0.0
        self._shift, self._scale = float(y.mean()), spread if spread > 0 else 1.0
        target = (y - self._shift) / self._scale
        likelihood = gaussian_likelihood()
        model = ExactGPHead(likelihood, ard_dims=x.shape[1])
        model.set_train_data(x, target, strict=False)
        model.train()
        mll = model.marginal_log_likelihood()
        optimizer = adam(model.parameters(), self._settings.learning_rate)
        try:
            for _ in range(self._settings.fit_steps):
                optimizer.zero_grad()
                loss = -mll(model(x), target)
                if not torch.isfinite(loss):
                    return False
                loss.backward()
                optimizer.step()
        except NUMERICAL_ERRORS:
            return False
        self._model = model
        return True

    def predict(self, obs: Observation, configs: np.ndarray, epochs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        assert self._model is not None, "predict() before a successful fit()"
        x, y = self._training_rows(obs)
        self._model.set_train_data(x, (y - self._shift) / self._scale, strict=False)
        self._model.eval()
        try:
            with torch.no_grad():
                posterior = self._model.likelihood(self._model(self._inputs(obs, configs, epochs)))
                mean, std = posterior.mean.numpy(), posterior.stddev.numpy()
        except NUMERICAL_ERRORS:
            return None
        return mean * self._scale + self._shift, std * self._scale


@METHODS.register("gp")
def gaussian_process(seed: int, **overrides: Any) -> GaussianProcessHPO:
    """GP: exact GP with ARD RBF on the scaled hyperparameters and budget, DyHPO's multi-fidelity EI."""
    return GaussianProcessHPO(seed, build_settings(GPSettings, overrides))
