"""Hyperparameters scaled to [0, 1], the input encoding of DyHPO's surrogate (Wistuba et al. 2022,
arXiv 2202.09774) and of the FMS paper (DESIGN.md, "Surrogate defaults").

Each column is transformed (log for lr and weight decay, log2 for batch size, identity for momentum,
dropout and anything else numeric) and min-max scaled by the search space's grid, so the encoding does
not depend on which configs were sampled. The pretrained-model choice is categorical: one-hot when the
hub has at most `max_one_hot` models; beyond that (a zoo of hundreds of models, whose index orders nothing) the
model's architecture one-hot, where the hub has several, and nothing else: a method then knows a pool model
only through what it can observe of it (its weights, for FMS). Columns whose grid holds one value carry no
information and are dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from fmsbench.replay.observation import Observation

_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "lr": np.log,
    "weight_decay": np.log,
    "batch_size": np.log2,
}


def log_scaled(column: str, grid: list | np.ndarray) -> bool:
    """Whether `column` is encoded on a log scale: lr, weight decay and batch size, unless the grid holds a value
    <= 0 (which cannot be log-scaled: linear then)."""
    return column in _TRANSFORMS and bool((np.asarray(grid, float) > 0).all())


class HyperparameterEncoder:
    """Maps a configs table to a float32 matrix [config, feature] with every value in [0, 1].

    Args:
        search_space: grid values per column (the hub's `search_space`); "model" lists the model indices.
        max_one_hot: largest model count encoded one-hot (default 32).
        archs: the hub's architectures (the configs table's "arch" values), one-hot beyond `max_one_hot` models.
    """

    def __init__(self, search_space: dict[str, list], max_one_hot: int = 32, archs: list[str] | None = None) -> None:
        self.n_models = len(search_space.get("model", []))
        self.one_hot = 1 < self.n_models <= max_one_hot
        self.archs = sorted(set(archs or [])) if not self.one_hot and len(set(archs or [])) > 1 else []
        self._scales: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float, float]] = {}
        for column, grid in search_space.items():
            if column == "model":
                continue
            transform = self._transform(column, np.asarray(grid, float))
            values = transform(np.asarray(grid, float))
            if values.max() > values.min():
                self._scales[column] = (transform, float(values.min()), float(values.max()))

    @staticmethod
    def _transform(column: str, grid: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return _TRANSFORMS[column] if log_scaled(column, grid) else np.asarray

    @property
    def n_features(self) -> int:
        return self.n_numeric + (self.n_models if self.one_hot else len(self.archs))

    @property
    def n_numeric(self) -> int:
        """How many of `encode`'s columns, the first ones, are numeric hyperparameters (the rest encode the model)."""
        return len(self._scales)

    def encode(self, configs: pd.DataFrame) -> np.ndarray:
        columns = []
        for column, (transform, low, high) in self._scales.items():
            values = transform(configs[column].to_numpy(float))
            columns.append(np.clip((values - low) / (high - low), 0.0, 1.0))
        models = configs["model"].to_numpy(int)
        if self.one_hot:
            columns.extend((models == m).astype(float) for m in range(self.n_models))
        columns.extend((configs["arch"].to_numpy() == arch).astype(float) for arch in self.archs)
        return np.stack(columns, axis=1).astype(np.float32) if columns else np.zeros((len(configs), 0), np.float32)


class EncodedConfigs:
    """Every config of a run's hub, encoded once (the configs table and search space never change in a replay).

    Call it with the run's `Observation`: `encoded(obs)` -> float32 [config, feature].
    """

    def __init__(self) -> None:
        self._x: np.ndarray | None = None
        self.encoder: HyperparameterEncoder | None = None  # set by the first call

    def __call__(self, obs: Observation) -> np.ndarray:
        if self._x is None:
            self.encoder = HyperparameterEncoder(obs.search_space, archs=list(obs.configs["arch"]))
            self._x = self.encoder.encode(obs.configs)
        return self._x
