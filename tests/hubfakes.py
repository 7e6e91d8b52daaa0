"""Synthetic hubs written through the real hub writer, for replay/method/report tests (seconds to build).

`write_fake_hub` takes explicit curves (for hand-computed expectations); `make_synthetic_hub` draws
plausible saturating curves whose final accuracy depends smoothly on the hyperparameters, with noise.
Checkpoints are a tiny MLP's state_dict drifting a config-specific direction per epoch, so they round-trip.
The session fixtures at the bottom are imported by tests/conftest.py, so every test can ask for them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from fmsbench.hub.layout import flatten, layout_of
from fmsbench.hub.store import METRICS, HubMeta, ModelRecord, RunRecord, TaskRecord, write_hub

SEARCH_SPACE = {
    "batch_size": [16, 32, 64, 128, 256, 512],
    "lr": [1e-4, 1e-3, 1e-2, 1e-1],
    "momentum": [0.1, 0.5, 0.9],
    "weight_decay": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1],
    "dropout": [0.0, 0.2, 0.5],
}


def _tiny_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).state_dict()


def sample_configs(n_configs: int, n_models: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = {name: rng.choice(values, n_configs) for name, values in SEARCH_SPACE.items()}
    table["model"] = rng.integers(0, n_models, n_configs)
    table["seed"] = np.arange(n_configs)
    return pd.DataFrame(table)


def write_fake_hub(path: Path, val: dict[str, np.ndarray] | np.ndarray, *, test: dict[str, np.ndarray] | None = None,
                   seconds: dict[str, np.ndarray] | None = None, configs: pd.DataFrame | None = None,
                   n_models: int = 2, name: str = "fake") -> Path:
    """A hub whose val acc curves are `val` ([config, epoch 0..E] per task; an array means one task "main").

    test acc defaults to val - 0.01, seconds to 1 + 0.1 * config per epoch.
    """
    val = val if isinstance(val, dict) else {"main": val}
    n_configs, n_epochs = next(iter(val.values())).shape
    configs = sample_configs(n_configs, n_models) if configs is None else configs
    base = [_tiny_state(m) for m in range(n_models)]
    layout = layout_of(base[0])
    models = [
        ModelRecord(f"mlp-s-seed{m}", "mlp", "s", m, 1, 4, 2, layout, flatten(base[m]),
                    np.zeros((2, len(METRICS)), np.float32))
        for m in range(n_models)
    ]
    tasks = [TaskRecord(task, {"name": task}, 2, n_epochs - 1, 10, 10, 10) for task in val]

    def runs():
        for task, task_val in val.items():
            for config in range(n_configs):
                curves = np.zeros((n_epochs, len(METRICS)), np.float32)
                curves[:, METRICS.index("val_acc")] = task_val[config]
                task_test = test[task][config] if test else task_val[config] - 0.01
                curves[:, METRICS.index("test_acc")] = task_test
                curves[:, METRICS.index("train_acc")] = np.minimum(task_val[config] + 0.05, 1.0)
                curves[:, METRICS.index("seconds")] = seconds[task][config] if seconds else 1 + 0.1 * config
                start = flatten(base[int(configs["model"].iat[config])])
                direction = np.random.default_rng(config).normal(size=start.size).astype(np.float32)
                weights = start[None, :] + 0.01 * np.arange(n_epochs, dtype=np.float32)[:, None] * direction
                yield RunRecord(task, config, curves, weights, layout)

    meta = HubMeta(name, f'name = "{name}"', "simple-cnn", {"model": list(range(n_models)), **SEARCH_SPACE}, "float32")
    write_hub(path, meta, models, configs, tasks, runs())
    return path


def synthetic_curves(configs: pd.DataFrame, max_epoch: int, seed: int) -> np.ndarray:
    """Saturating val acc curves [config, epoch 0..E]; final accuracy peaks at lr 1e-2, small weight decay."""
    rng = np.random.default_rng(seed)
    lr = np.log10(configs["lr"].to_numpy())
    wd = np.log10(configs["weight_decay"].to_numpy())
    final = 0.9 - 0.08 * (lr + 2) ** 2 - 0.02 * (wd + 5) + 0.03 * configs["model"].to_numpy() + rng.normal(0, 0.02, len(configs))
    speed = 1.5 + 3 * rng.random(len(configs))
    epochs = np.arange(max_epoch + 1)
    curves = 0.1 + (final[:, None] - 0.1) * (1 - np.exp(-epochs[None, :] / speed[:, None]))
    curves[:, 1:] += rng.normal(0, 0.01, (len(configs), max_epoch))
    return np.clip(curves, 0.0, 1.0).astype(np.float32)


def make_synthetic_hub(path: Path, n_configs: int = 40, max_epoch: int = 10, tasks: tuple[str, ...] = ("main",),
                       n_models: int = 3, name: str = "synth") -> Path:
    configs = sample_configs(n_configs, n_models)
    val = {task: synthetic_curves(configs, max_epoch, seed) for seed, task in enumerate(tasks)}
    return write_fake_hub(path, val, configs=configs, n_models=n_models, name=name)


# Hand-computable: y* = 0.9 (config 2, epoch 3); worst final val = 0.4 (config 1).
HAND_VAL = np.array([
    [0.1, 0.5, 0.6, 0.7],
    [0.1, 0.3, 0.8, 0.4],
    [0.1, 0.2, 0.3, 0.9],
], dtype=np.float32)


@pytest.fixture(scope="session")
def synth_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 configs x 10 epochs, one task "main", 3 pretrained models."""
    return make_synthetic_hub(tmp_path_factory.mktemp("hubs") / "synth.h5")


@pytest.fixture(scope="session")
def two_task_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 configs x 4 epochs, tasks "alpha" and "beta", hub name "duo"."""
    return make_synthetic_hub(tmp_path_factory.mktemp("hubs") / "duo.h5", n_configs=12, max_epoch=4,
                              tasks=("alpha", "beta"), name="duo")


@pytest.fixture(scope="session")
def hand_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`HAND_VAL` as the val acc curves of task "main"; test acc = val - 0.01; 1 + 0.1 * config seconds/epoch."""
    return write_fake_hub(tmp_path_factory.mktemp("hubs") / "hand.h5", HAND_VAL, name="hand")
