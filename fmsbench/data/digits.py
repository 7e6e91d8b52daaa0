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
