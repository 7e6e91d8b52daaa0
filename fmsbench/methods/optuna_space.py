"""A hub's configs as an Optuna search space, and the way back from a sampled point to a config of the hub.

An Optuna sampler draws a point of the hub's search space: the pretrained model as a categorical, every other
hyperparameter with more than one grid value as a float between its smallest and largest grid value (log scale
where fmsbench's surrogates use one: lr, weight decay, batch size), so that samplers with a continuous model
(TPE, CMA-ES, QMC, GP) model them. A hub holds only some points of that space, so a sampled point is snapped to
the nearest config not trained yet, by Euclidean distance in the surrogates' own [0, 1] encoding
(`HyperparameterEncoder`; ties: the lower config id). Random sampling thus favours configs in sparse regions
of the space: the price of running a continuous sampler on a table.

Optuna is imported only when a space is built (it is an optional extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fmsbench.methods.encoding import HyperparameterEncoder, log_scaled

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

CATEGORICAL_AXES = ("model",)  # axes whose values are labels, not quantities


class HubSearchSpace:
    """Optuna distributions of a hub's search space, and `nearest`, the hub config closest to a sampled point.

    Args:
        search_space: grid values per hyperparameter (the hub's, as the Observation shows it).
        configs: the hub's configs table (row = config id), with a column per search-space axis.
    """

    def __init__(self, search_space: dict[str, list], configs: pd.DataFrame) -> None:
        self._search_space = search_space
        self._configs = configs[list(search_space)].reset_index(drop=True)
        self.distributions: dict[str, BaseDistribution] = {
            axis: _distribution(axis, values) for axis, values in search_space.items() if len(set(values)) > 1
        }
        self._encoder = HyperparameterEncoder(search_space)
        self._encoded = self._encoder.encode(self._configs)

    def params(self, config: int) -> dict[str, Any]:
        """The sampled axes' values of `config`, as Optuna records them (plain Python numbers)."""
        row = self._configs.iloc[config]
        return {axis: _plain(row[axis]) for axis in self.distributions}

    def nearest(self, params: dict[str, Any], candidates: np.ndarray) -> int:
        """The config of `candidates` (ascending ids) nearest to the point `params` (see the module docstring)."""
        point = {axis: [params.get(axis, values[0])] for axis, values in self._search_space.items()}
        encoded = self._encoder.encode(pd.DataFrame(point))
        distances = ((self._encoded[candidates] - encoded) ** 2).sum(axis=1)
        return int(candidates[int(np.argmin(distances))])


def _distribution(axis: str, values: list) -> BaseDistribution:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    plain = sorted({_plain(value) for value in values})
    if axis in CATEGORICAL_AXES or not all(isinstance(value, (int, float)) for value in plain):
        return CategoricalDistribution(plain)
    return FloatDistribution(float(plain[0]), float(plain[-1]), log=log_scaled(axis, plain))


def _plain(value: Any) -> Any:
    """numpy scalars as the Python numbers Optuna's distributions and storages accept."""
    return value.item() if isinstance(value, np.generic) else value
