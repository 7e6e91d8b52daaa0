"""Datasets: a registry of loaders (real ones through torchvision, offline ones shipped or generated) and
`load_dataset`, which turns a `DatasetSpec` into seeded in-memory train/val/test tensors.

Real: mnist, cifar10, svhn, imagenet (see `real`). Offline, no download: digits (scikit-learn's handwritten
digits), fractals (pretraining), house-digits (SVHN-like), shapes (CIFAR-like).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fmsbench.data import cifar, digits, fractals, house_digits, real, shapes  # noqa: F401  (registration on import)
from fmsbench.data.base import DATASETS, RawData, Splits, data_root, make_splits, split_sizes, to_float
from fmsbench.data.prepared import read_splits, spec_digest, write_splits
from fmsbench.data.spec import DatasetSpec

__all__ = ["DATASETS", "DatasetSpec", "RawData", "Splits", "data_root", "load_dataset", "split_sizes", "to_float"]


def load_dataset(spec: DatasetSpec, root: str | Path | None = None, download: bool = False,
                 cache: Path | None = None) -> Splits:
    """The splits of `spec`, read from `root` (see `data_root`) for real datasets; cached per process.

    With `cache` (a folder), the prepared splits are also kept there as one file per spec: the first process
    to ask prepares and writes them, every other process (a build's workers) only reads them, instead of each
    generating or decoding, resizing and splitting the whole dataset again.

    Raises DatasetMissingError (one line: expected path and the offline alternative) for real data not on disk.
    """
    return _load(spec, data_root(root), download, cache)


@lru_cache(maxsize=8)
def _load(spec: DatasetSpec, root: Path, download: bool, cache: Path | None) -> Splits:
    stored = None if cache is None else cache / f"{spec_digest(spec)}.npz"
    if stored is not None and stored.exists():
        return read_splits(stored)
    splits = make_splits(DATASETS.get(spec.name)(spec, root, download), spec)
    if stored is not None:
        write_splits(stored, splits)
    return splits
