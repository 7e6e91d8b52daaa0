"""Datasets: a registry of loaders (real ones through torchvision, offline ones shipped or generated) and
`load_dataset`, which turns a `DatasetSpec` into seeded in-memory train/val/test tensors.

Real: mnist, cifar10, svhn, imagenet (see `real`). Offline, no download: digits (scikit-learn's handwritten
digits), fractals (pretraining), house-digits (SVHN-like), shapes (CIFAR-like).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fmsbench.data import cifar, digits, fractals, house_digits, real, shapes  # noqa: F401  (registration on import)
from fmsbench.data.base import DATASETS, RawData, Splits, data_root, make_splits, to_float
from fmsbench.data.spec import DatasetSpec

__all__ = ["DATASETS", "DatasetSpec", "RawData", "Splits", "data_root", "load_dataset", "to_float"]


def load_dataset(spec: DatasetSpec, root: str | Path | None = None, download: bool = False) -> Splits:
    """The splits of `spec`, read from `root` (see `data_root`) for real datasets; cached per process.

    Raises DatasetMissingError (one line: expected path and the offline alternative) for real data not on disk.
    """
    return _load(spec, data_root(root), download)


@lru_cache(maxsize=8)
def _load(spec: DatasetSpec, root: Path, download: bool) -> Splits:
    loader = DATASETS.get(spec.name)
    return make_splits(loader(spec, root, download), spec)
