"""Prepared splits are written once and read back identically by any process (a build's workers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import fmsbench.data as data
from fmsbench.data import DatasetSpec, load_dataset


def test_the_first_load_writes_the_cache_and_later_loads_read_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = DatasetSpec("shapes", 8, 3, n_train=40, n_val=10, n_test=10, seed=5)
    made = load_dataset(spec, cache=tmp_path)
    files = list(tmp_path.glob("shapes-*.npz"))
    assert len(files) == 1
    data._load.cache_clear()  # as a fresh worker process
    monkeypatch.setattr(data.DATASETS, "get", lambda name: pytest.fail("a cached dataset must not be made again"))
    read = load_dataset(spec, cache=tmp_path)
    for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert torch.equal(getattr(read, name), getattr(made, name))
    assert read.num_classes == made.num_classes == 10
