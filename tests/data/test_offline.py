"""Offline datasets: seeded, balanced, learnable, and the right shapes at any size and channel count."""

from __future__ import annotations

import pytest
import torch

from fmsbench.build.train import TrainSettings, train
from fmsbench.data import DATASETS, DatasetSpec, load_dataset
from fmsbench.data.base import make_splits
from fmsbench.hub.store import METRICS
from fmsbench.models import build_model

OFFLINE = {"digits": 10, "fractals": 20, "house-digits": 10, "shapes": 10}


def _fresh(spec: DatasetSpec):
    """Generate from scratch (no cache), to test that generation itself is seeded."""
    return make_splits(DATASETS.get(spec.name)(spec, None, False), spec)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(OFFLINE))
@pytest.mark.parametrize(("size", "channels"), [(8, 1), (16, 3)])
def test_offline_dataset_shapes_and_classes(name: str, size: int, channels: int) -> None:
    spec = DatasetSpec(name, size, channels, n_train=100, n_val=40, n_test=60)
    data = load_dataset(spec)
    assert data.num_classes == OFFLINE[name]
    assert data.train_x.shape == (100, channels, size, size) and data.train_x.dtype == torch.uint8
    assert data.val_x.shape[0] == 40 and data.test_x.shape[0] == 60
    assert set(data.train_y.tolist()) == set(range(OFFLINE[name]))
    assert data.train_x.float().std() > 10, "images must not be blank"


@pytest.mark.parametrize("name", ["fractals", "house-digits", "shapes"])
def test_generation_is_seeded(name: str) -> None:
    spec = DatasetSpec(name, 8, 3, n_train=30, n_val=10, n_test=10, seed=3)
    first, again = _fresh(spec), _fresh(spec)
    assert torch.equal(first.train_x, again.train_x) and torch.equal(first.test_y, again.test_y)
    other = _fresh(DatasetSpec(name, 8, 3, n_train=30, n_val=10, n_test=10, seed=4))
    assert not torch.equal(first.train_x, other.train_x)


@pytest.mark.parametrize("name", ["fractals", "house-digits", "shapes"])
def test_a_small_cnn_learns_the_labels(name: str) -> None:
    """The label is in the image: a few epochs of a small CNN beat chance clearly."""
    data = load_dataset(DatasetSpec(name, 16, 3, n_train=2000, n_val=300, n_test=10))
    torch.manual_seed(0)
    model = build_model("cnn", "s", in_channels=3, num_classes=data.num_classes, image_size=16)
    settings = TrainSettings(epochs=6, batch_size=64, optimizer="adam", lr=3e-3, momentum=0.9, weight_decay=0.0,
                             dropout=0.0, seed=0)
    curves = train(model, data, settings, record_weights=False).curves
    assert curves[-1, METRICS.index("val_acc")] > 2 / data.num_classes
