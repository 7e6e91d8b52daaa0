"""`fractals`: FractalDB-style images of iterated function systems, a label-rich pretraining set with no download.

In the spirit of "Pre-training without Natural Images" (Kataoka et al., ACCV 2020, arXiv 2101.08515): each of
`NUM_CLASSES` classes is one fixed IFS of 2-4 contractive affine maps (the same for every seed); an image renders
its attractor by the chaos game, under a small random rotation, scale and offset, in random foreground/background
colours. Points hit per pixel set the foreground's opacity.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter

from fmsbench.data.base import DATASETS, RawData
from fmsbench.data.generated import (
    SUPERSAMPLE,
    balanced_labels,
    downsample,
    generated_raw,
    random_colours,
    to_uint8_chw,
)
from fmsbench.data.spec import DatasetSpec

NUM_CLASSES = 20
MAX_MAPS = 4
CHAINS = 256  # independent chaos-game chains per image
ITERATIONS = 24
BURN_IN = 8  # iterations before the chains sit on the attractor
CHUNK = 128  # images rendered at once (bounds memory)
MIN_FILL = 0.2
MAX_ROTATION = 0.5  # radians; larger turns make 16x16 classes hard to tell apart


@lru_cache(maxsize=1)
def _class_systems() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear parts [class, map, 2, 2], offsets [class, map, 2] and map probabilities [class, map].

    Candidate systems whose attractor covers less than `MIN_FILL` of a 24x24 grid (lines, dust) are
    rejected, as FractalDB filters by its fill rate, so every class is a recognisable 2-D shape.
    """
    rng = np.random.default_rng(zlib.crc32(b"fmsbench/fractals/classes"))
    linear = np.zeros((NUM_CLASSES, MAX_MAPS, 2, 2))
    offset = np.zeros((NUM_CLASSES, MAX_MAPS, 2))
    probability = np.zeros((NUM_CLASSES, MAX_MAPS))
    cls = 0
    while cls < NUM_CLASSES:
        maps = int(rng.integers(2, MAX_MAPS + 1))
        for m in range(MAX_MAPS):
            a = rng.uniform(-1, 1, (2, 2))
            linear[cls, m] = a * (rng.uniform(0.45, 0.8) / np.linalg.norm(a, 2))  # contractive: an attractor exists
            offset[cls, m] = rng.uniform(-1, 1, 2)
            probability[cls, m] = abs(np.linalg.det(linear[cls, m])) + 0.05 if m < maps else 0.0
        probability[cls] /= probability[cls].sum()
        cloud = _chaos_game(np.random.default_rng(cls), linear, offset, np.cumsum(probability, 1), np.array([cls]))
        cls += _fill(_normalised(cloud)[0]) >= MIN_FILL
    return linear, offset, probability


def _chaos_game(rng: np.random.Generator, linear: np.ndarray, offset: np.ndarray, cumulative: np.ndarray,
                labels: np.ndarray) -> np.ndarray:
    """Points on the attractors of the labels' systems: [n, CHAINS * (ITERATIONS - BURN_IN), 2]."""
    n = len(labels)
    points = rng.uniform(-1, 1, (n, CHAINS, 2))
    kept = []
    rows = labels[:, None]
    for step in range(ITERATIONS):
        choice = np.minimum((rng.random((n, CHAINS, 1)) > cumulative[labels][:, None, :]).sum(-1), MAX_MAPS - 1)
        points = np.einsum("nkij,nkj->nki", linear[rows, choice], points) + offset[rows, choice]
        if step >= BURN_IN:
            kept.append(points)
    return np.concatenate(kept, axis=1)


def _normalised(cloud: np.ndarray) -> np.ndarray:
    """Centre each point cloud on its median and scale its 98th-percentile extent to 1."""
    cloud = cloud - np.median(cloud, axis=1, keepdims=True)
    return cloud / (np.percentile(np.abs(cloud), 98, axis=(1, 2))[:, None, None] + 1e-6)


def _fill(cloud: np.ndarray, grid: int = 24) -> float:
    cells = np.clip(((cloud + 1) / 2 * grid).astype(int), 0, grid - 1)
    return len(np.unique(cells[:, 1] * grid + cells[:, 0])) / grid**2


def render(rng: np.random.Generator, count: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    linear, offset, probability = _class_systems()
    cumulative = np.cumsum(probability, axis=1)
    labels = balanced_labels(rng, count, NUM_CLASSES)
    side = image_size * SUPERSAMPLE
    images = np.empty((count, 3, image_size, image_size), np.uint8)
    for start in range(0, count, CHUNK):
        y = labels[start : start + CHUNK]
        n = len(y)
        cloud = _normalised(_chaos_game(rng, linear, offset, cumulative, y))
        angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION, n)
        scale = rng.uniform(0.75, 0.95, n)
        rotation = np.stack([np.cos(angle), -np.sin(angle), np.sin(angle), np.cos(angle)], 1).reshape(n, 2, 2)
        cloud = np.einsum("nij,npj->npi", rotation * scale[:, None, None], cloud) + rng.uniform(-0.1, 0.1, (n, 1, 2))
        pixel = np.clip(((cloud + 1) / 2 * side).astype(np.int64), 0, side - 1)
        flat = (np.arange(n)[:, None] * side + pixel[..., 1]) * side + pixel[..., 0]
        hits = np.bincount(flat.ravel(), minlength=n * side * side).reshape(n, side, side, 1)
        alpha = maximum_filter(1.0 - np.exp(-hits / 2.0), size=(1, 3, 3, 1))  # strokes survive the downsampling
        fg, bg = random_colours(rng, n)
        canvas = bg[:, None, None, :] * (1 - alpha) + fg[:, None, None, :] * alpha
        images[start : start + n] = to_uint8_chw(downsample(canvas, SUPERSAMPLE))
    return images, labels


@DATASETS.register("fractals", classes=NUM_CLASSES)
def fractals(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    return generated_raw(spec, render, NUM_CLASSES)
