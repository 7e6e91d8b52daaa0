"""What identifies a prepared dataset: name, resolution, channels, split sizes and seed (hashable, so it keys
caches and build-job digests). Recipes name datasets with this same class; their image size and channels come
from the recipe's top level (`at`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from fmsbench.tomlconfig import checked

FROM_RECIPE = {"toml": False}  # field metadata: not a key of a recipe's dataset table


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset as a build job needs it.

    Args:
        name: a name in `fmsbench.data.DATASETS` ("mnist", "digits", "fractals", ...).
        image_size: side of the square images after resizing (set from the recipe).
        channels: 1 (grayscale) or 3 (RGB); images are converted to it (set from the recipe).
        n_train: training images kept after the validation split (None: all that remain).
        n_val: images held out of the training pool for validation.
        n_test: test images kept (None: the whole test split).
        seed: fixes the train/val/test split and, for generated sets, the images.
        verify: keep torchvision's md5 checks of CIFAR-10/SVHN files (False only for test fixtures and
            repacked copies whose bytes differ from the official archives).
    """

    name: str
    image_size: int = field(default=0, metadata=FROM_RECIPE)
    channels: int = field(default=0, metadata=FROM_RECIPE)
    n_train: int | None = checked(None, low=1)
    n_val: int = checked(500, low=1)
    n_test: int | None = checked(None, low=1)
    seed: int = checked(0, low=0)
    verify: bool = True

    def at(self, image_size: int, channels: int) -> DatasetSpec:
        """This dataset at a recipe's resolution and channel count."""
        return dataclasses.replace(self, image_size=image_size, channels=channels)
