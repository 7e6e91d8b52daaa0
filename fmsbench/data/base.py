"""The dataset registry and the common path from a loader's raw pools to seeded train/val/test splits.

A loader returns `RawData`: a training pool and a test pool of uint8 images at any resolution. `make_splits`
converts them to the spec's channels and size, holds `n_val` images of the training pool out for validation and
subsamples, all seeded by `spec.seed`, so a spec always yields the same tensors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fmsbench.data.spec import DatasetSpec
from fmsbench.errors import DatasetMissingError
from fmsbench.registry import Registry

DEFAULT_DATA_ROOT = Path("~/.cache/fmsbench/data")
_RESIZE_CHUNK = 4096
GENERATED_TRAIN = 5000  # a generated set's training pool when a spec gives no n_train (validation comes on top)
GENERATED_TEST = 1000
_LUMINANCE = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


@dataclass
class RawData:
    """A dataset's own pools: images uint8 [N, C, H, W] (C = 1 or 3), labels int64 [N]; `train_groups` [N], when
    set, marks training images made from one original (augmented copies): validation takes whole groups."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    train_groups: torch.Tensor | None = None


@dataclass
class Splits:
    """Seeded splits as in-memory tensors: images uint8 [N, C, S, S] (see `to_float`), labels int64 [N]."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int


Loader = Callable[[DatasetSpec, Path, bool], RawData]
DATASETS: Registry[Loader] = Registry("dataset", entry_points="fmsbench.datasets")
# metadata: classes; pools = (train pool, test pool) when fixed


def split_sizes(spec: DatasetSpec) -> tuple[int, int, int, int]:
    """(n_train, n_val, n_test, classes) that `spec` yields, known without loading it (registry metadata): what
    a build is planned and estimated with."""
    meta = DATASETS.meta(spec.name)
    if "pools" not in meta:  # generated: drawn at the sizes asked for
        return spec.n_train or GENERATED_TRAIN, spec.n_val, spec.n_test or GENERATED_TEST, meta["classes"]
    train_pool, test_pool = meta["pools"]
    n_train = train_pool - spec.n_val if spec.n_train is None else min(spec.n_train, train_pool - spec.n_val)
    return n_train, spec.n_val, test_pool if spec.n_test is None else min(spec.n_test, test_pool), meta["classes"]


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [-1, 1]: the one normalisation every model sees."""
    return images.float().mul_(2.0 / 255.0).sub_(1.0)


def data_root(explicit: str | Path | None = None) -> Path:
    """`explicit`, else $FMSBENCH_DATA_ROOT, else ~/.cache/fmsbench/data."""
    chosen = explicit or os.environ.get("FMSBENCH_DATA_ROOT") or DEFAULT_DATA_ROOT
    return Path(chosen).expanduser()


def missing(name: str, where: Path, expected: str, offline: str) -> DatasetMissingError:
    """The one-line error for a real dataset that is not on disk."""
    return DatasetMissingError(
        f"dataset '{name}' not found in {where} (expected {expected}); put it there or set data_root to the folder "
        f"that holds it, set download when online, or use the offline dataset '{offline}' instead",
        parameters=("data_root", "download"),
    )


def convert(images: torch.Tensor, image_size: int, channels: int) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, channels, image_size, image_size] (antialiased bilinear resize)."""
    if images.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, got shape {tuple(images.shape)}")
    same_size = images.shape[-2:] == (image_size, image_size)
    if same_size and images.shape[1] == channels:
        return images.contiguous()
    parts = []
    for start in range(0, len(images), _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK].float()
        if chunk.shape[1] != channels:
            chunk = chunk.repeat(1, 3, 1, 1) if channels == 3 else (chunk * _LUMINANCE).sum(1, keepdim=True)
        if not same_size:
            chunk = F.interpolate(chunk, size=(image_size, image_size), mode="bilinear", antialias=True,
                                  align_corners=False)
        parts.append(chunk.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(parts) if parts else images.new_zeros((0, channels, image_size, image_size))


def make_splits(raw: RawData, spec: DatasetSpec) -> Splits:
    """Hold `n_val` training images out for validation (whole groups of copies, where the pool has groups),
    subsample train and test; seeded by `spec.seed`."""
    rng = np.random.default_rng(spec.seed)
    order = torch.from_numpy(rng.permutation(len(raw.train_x)))
    if spec.n_val >= len(order):
        raise DatasetMissingError(
            f"dataset '{spec.name}' has {len(order)} training images, too few for n_val={spec.n_val}; lower n_val")
    if raw.train_groups is not None:  # whole groups in random order: no copy of a validation image is trained on
        groups = raw.train_groups.numpy()
        rank = np.argsort(rng.permutation(groups.max() + 1))
        order = torch.from_numpy(np.lexsort((rng.random(groups.size), rank[groups])))
    val, train = order[: spec.n_val], order[spec.n_val :]
    if raw.train_groups is not None:
        train = train[~torch.isin(raw.train_groups[train], raw.train_groups[val])]
    if spec.n_train is not None:
        train = train[: spec.n_train]
    test = torch.from_numpy(rng.permutation(len(raw.test_x)))
    if spec.n_test is not None:
        test = test[: spec.n_test]

    def take(images: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return convert(images[index], spec.image_size, spec.channels)

    return Splits(take(raw.train_x, train), raw.train_y[train].long(), take(raw.train_x, val), raw.train_y[val].long(),
                  take(raw.test_x, test), raw.test_y[test].long(), raw.num_classes)
