"""Hyperparameters scale to [0, 1] with the documented transforms; the model choice is one-hot up to 32 models,
beyond that only its architecture is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmsbench.methods.encoding import HyperparameterEncoder

SPACE = {"model": [0, 1, 2], "batch_size": [16, 64, 512], "lr": [1e-4, 1e-2, 1e-1], "momentum": [0.1, 0.9],
         "weight_decay": [1e-5, 1e-1], "dropout": [0.0]}


def _configs(**columns: list) -> pd.DataFrame:
    base = {"model": [0, 2], "batch_size": [16, 64], "lr": [1e-4, 1e-2], "momentum": [0.1, 0.9],
            "weight_decay": [1e-5, 1e-3], "dropout": [0.0, 0.0]}
    return pd.DataFrame({**base, **columns})


def test_transforms_and_one_hot() -> None:
    encoder = HyperparameterEncoder(SPACE)
    x = encoder.encode(_configs())
    assert x.shape == (2, 4 + 3) == (2, encoder.n_features)  # dropout has one value: dropped
    assert encoder.n_numeric == 4  # the first 4 columns; the model's follow
    batch, lr, momentum, wd = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    assert batch == pytest.approx([0.0, 2 / 5])  # log2: 16 -> 0, 64 -> 2 of 5 octaves
    assert lr == pytest.approx([0.0, 2 / 3])  # log10: 1e-4 -> 0, 1e-2 -> 2 of 3 decades
    assert momentum == pytest.approx([0.0, 1.0]) and wd == pytest.approx([0.0, 0.5])
    assert x[:, 4:].tolist() == [[1, 0, 0], [0, 0, 1]]
    assert ((x >= 0) & (x <= 1)).all() and x.dtype == np.float32


def test_many_models_are_known_by_their_architecture_only() -> None:
    """A zoo's model index orders nothing: beyond 32 models only the architecture is a feature (none for one)."""
    space = {**SPACE, "model": list(range(41))}
    configs = _configs(model=[0, 40], arch=["vit", "cnn"])
    x = HyperparameterEncoder(space, archs=["vit", "cnn", "cnn"]).encode(configs)
    assert x.shape == (2, 4 + 2) and x[:, 4:].tolist() == [[0.0, 1.0], [1.0, 0.0]]  # cnn, vit in sorted order
    one_architecture = HyperparameterEncoder(space, archs=["cnn", "cnn"])
    assert one_architecture.encode(_configs(model=[0, 40], arch=["cnn", "cnn"])).shape == (2, 4)
    assert one_architecture.n_numeric == 4


def test_a_grid_with_zero_is_scaled_linearly() -> None:
    x = HyperparameterEncoder({"model": [0], "weight_decay": [0.0, 1e-4, 1e-2]}).encode(_configs(weight_decay=[0.0, 1e-2]))
    assert x.tolist() == [[0.0], [1.0]]
