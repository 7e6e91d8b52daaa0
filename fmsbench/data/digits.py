"""`digits`: scikit-learn's bundled handwritten digits (1,797 real 8x8 images, 10 classes), upsampled.

It ships with scikit-learn, so it needs no download: the offline stand-in for MNIST. A seeded 20% of the
images form the test pool; validation is held out of the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fmsbench.data.base import DATASETS, RawData
from fmsbench.data.spec import DatasetSpec

TEST_FRACTION = 0.2


@DATASETS.register("digits", pools=(1438, 359), classes=10)
def digits(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    from sklearn.datasets import load_digits  # here: scikit-learn's import costs every build worker seconds

    bunch = load_digits()
    images = torch.from_numpy(np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8))[:, None]
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    order = torch.from_numpy(np.random.default_rng([spec.seed, 8]).permutation(len(images)))
    n_test = int(round(TEST_FRACTION * len(images)))
    test, train = order[:n_test], order[n_test:]
    return RawData(images[train], labels[train], images[test], labels[test], 10)


COPIES = 8  # random affine copies per original in `digits-affine`
CANVAS = 32  # side the 8x8 originals are upsampled to before the transform (the spec's size comes after)


@DATASETS.register("digits-affine", pools=(COPIES * 1438, COPIES * 359), classes=10)
def digits_affine(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    """`digits` made large enough for a fine-tuning task: every real digit in `COPIES` random affine copies
    (rotation up to 15 degrees, scale 0.85-1.1, shift up to 10% of the side), seeded by the spec. Train and test
    pools come from disjoint originals, and the copies of one training digit form a group that validation takes
    whole (`make_splits`), so no copy of an image in validation or test is trained on."""
    raw = digits(spec, root, download)
    rng = torch.Generator().manual_seed(int(np.random.SeedSequence([spec.seed, 9]).generate_state(1)[0]))

    def copies(images: torch.Tensor) -> torch.Tensor:
        big = torch.nn.functional.interpolate(images.float(), size=(CANVAS, CANVAS), mode="bilinear",
                                              align_corners=False).repeat_interleave(COPIES, 0)
        n = len(big)
        angle = (torch.rand(n, generator=rng) * 2 - 1) * np.deg2rad(15)
        scale = 0.85 + torch.rand(n, generator=rng) * 0.25
        shift = (torch.rand(n, 2, generator=rng) * 2 - 1) * 0.2  # grid units: 0.2 = 10% of the side
        rotation = torch.stack([torch.cos(angle), -torch.sin(angle), torch.sin(angle), torch.cos(angle)], 1)
        theta = torch.cat([(rotation / scale[:, None]).view(n, 2, 2), shift[:, :, None]], 2)
        grid = torch.nn.functional.affine_grid(theta, list(big.shape), align_corners=False)
        moved = torch.nn.functional.grid_sample(big, grid, align_corners=False, padding_mode="zeros")
        return moved.round().clamp(0, 255).to(torch.uint8)

    groups = torch.arange(len(raw.train_x)).repeat_interleave(COPIES)
    return RawData(copies(raw.train_x), raw.train_y.repeat_interleave(COPIES), copies(raw.test_x),
                   raw.test_y.repeat_interleave(COPIES), 10, groups)
