"""Shared helpers of the procedurally generated datasets (fractals, house-digits, shapes).

A generated set has no fixed size: the loader draws a training pool of n_train + n_val images (n_train
defaulting to `GENERATED_TRAIN`) and a test pool of n_test (default `GENERATED_TEST`), each from its own
generator seeded by (spec.seed, pool), while what defines a class never depends on the seed. Images are
drawn at `SUPERSAMPLE` times the target size and averaged down, which antialiases them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import torch

from fmsbench.data.base import GENERATED_TEST, GENERATED_TRAIN, RawData
from fmsbench.data.spec import DatasetSpec

SUPERSAMPLE = 2

# (rng, count, image_size) -> images uint8 [count, 3, size, size], labels int64 [count]
Generator = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


def generated_raw(spec: DatasetSpec, generate: Generator, num_classes: int) -> RawData:
    """Draw the training pool and the test pool of a generated dataset for `spec`."""
    sizes = {"train": (spec.n_train or GENERATED_TRAIN) + spec.n_val, "test": spec.n_test or GENERATED_TEST}
    pools = {}
    for pool, count in sizes.items():
        rng = np.random.default_rng([spec.seed, zlib.crc32(f"{spec.name}/{pool}".encode())])
        images, labels = generate(rng, count, spec.image_size)
        pools[pool] = torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.int64))
    return RawData(*pools["train"], *pools["test"], num_classes)


def balanced_labels(rng: np.random.Generator, count: int, num_classes: int) -> np.ndarray:
    """`count` labels, every class equally often (up to one), in random order."""
    return rng.permutation(np.arange(count) % num_classes)


def downsample(canvas: np.ndarray, factor: int) -> np.ndarray:
    """Average factor x factor blocks: float [..., H*f, W*f, C] -> [..., H, W, C]."""
    *lead, height, width, channels = canvas.shape
    blocks = canvas.reshape(*lead, height // factor, factor, width // factor, factor, channels)
    return blocks.mean(axis=(-4, -2))


def to_uint8_chw(images: np.ndarray) -> np.ndarray:
    """float [N, H, W, C] in [0, 1] -> uint8 [N, C, H, W]."""
    return np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8).transpose(0, 3, 1, 2)


def rgb255(colour: np.ndarray) -> tuple[int, int, int]:
    """An RGB colour in [0, 1] as the 0..255 triple PIL draws with."""
    red, green, blue = (int(round(255 * c)) for c in colour)
    return red, green, blue


def random_colours(rng: np.random.Generator, count: int, min_distance: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and background RGB colours [count, 3] in [0, 1] that differ by at least `min_distance` (L2)."""
    fg, bg = rng.random((count, 3)), rng.random((count, 3))
    close = np.linalg.norm(fg - bg, axis=1) < min_distance
    while close.any():
        fg[close] = rng.random((int(close.sum()), 3))
        close = np.linalg.norm(fg - bg, axis=1) < min_distance
    return fg, bg
