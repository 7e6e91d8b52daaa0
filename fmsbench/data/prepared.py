"""Prepared splits on disk: what one process computes once and every worker of a build reads back.

One uncompressed .npz per dataset spec (uint8 images, int64 labels, the class count), named by a digest of the
spec and written atomically; read without pickle.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from fmsbench.atomic import atomic_path
from fmsbench.data.base import Splits
from fmsbench.data.spec import DatasetSpec

TENSORS = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")


def spec_digest(spec: DatasetSpec) -> str:
    return f"{spec.name}-{hashlib.sha256(repr(spec).encode()).hexdigest()[:16]}"


def write_splits(path: Path, splits: Splits) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, num_classes=np.int64(splits.num_classes),
                 **{name: getattr(splits, name).numpy() for name in TENSORS})


def read_splits(path: Path) -> Splits:
    with np.load(path, allow_pickle=False) as data:
        return Splits(**{name: torch.from_numpy(data[name]) for name in TENSORS},
                      num_classes=int(data["num_classes"]))
