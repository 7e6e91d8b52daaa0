"""The real loaders read tiny files in the real formats through torchvision's classes; missing data is one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import realformats
import torch

from fmsbench.data import DATASETS, DatasetSpec, Splits, load_dataset
from fmsbench.data.base import make_splits
from fmsbench.errors import DatasetMissingError

CASES: dict[str, tuple[Callable[[Path], None], int]] = {
    "mnist": (realformats.write_mnist, 10),
    "cifar10": (realformats.write_cifar10, 10),
    "svhn": (realformats.write_svhn, 10),
    "imagenet": (realformats.write_image_folder, 3),
}


def _labels_match_pixels(images: torch.Tensor, labels: torch.Tensor) -> bool:
    centre = images[:, 0, images.shape[2] // 2, images.shape[3] // 2].long()
    return bool(torch.all(centre == 20 * labels + 5))


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_format_loads_through_torchvision(tmp_path: Path, name: str) -> None:
    write, num_classes = CASES[name]
    write(tmp_path)
    spec = DatasetSpec(name, image_size=16, channels=3, n_val=6, n_test=5, verify=False)
    data = load_dataset(spec, tmp_path)
    assert data.num_classes == num_classes
    assert data.train_x.shape[1:] == (3, 16, 16) and data.train_x.dtype == torch.uint8
    assert len(data.val_x) == 6 and len(data.test_x) == 5
    for images, labels in ((data.train_x, data.train_y), (data.val_x, data.val_y), (data.test_x, data.test_y)):
        assert _labels_match_pixels(images, labels), "images and labels must stay paired"
    if name == "svhn":
        assert (data.train_y == 0).any() and data.train_y.max() == 9  # SVHN's label 10 is digit 0


def test_cifar10_keeps_the_md5_check_by_default(tmp_path: Path) -> None:
    realformats.write_cifar10(tmp_path)
    with pytest.raises(DatasetMissingError, match="md5"):
        load_dataset(DatasetSpec("cifar10", 16, 3, n_val=6), tmp_path)


@pytest.mark.parametrize(("name", "offline"), [("mnist", "digits"), ("cifar10", "shapes"), ("svhn", "house-digits"),
                                               ("imagenet", "fractals")])
def test_missing_dataset_names_the_path_and_the_offline_alternative(tmp_path: Path, name: str, offline: str) -> None:
    with pytest.raises(DatasetMissingError) as error:
        load_dataset(DatasetSpec(name, 16, 3), tmp_path)
    message = str(error.value)
    assert str(tmp_path / name) in message and f"'{offline}'" in message and "\n" not in message


def test_splits_are_fixed_by_the_seed(tmp_path: Path) -> None:
    realformats.write_mnist(tmp_path)

    def split(seed: int) -> Splits:  # bypasses load_dataset's cache: two independent reads
        spec = DatasetSpec("mnist", 8, 1, n_train=30, n_val=10, n_test=8, seed=seed)
        return make_splits(DATASETS.get("mnist")(spec, tmp_path, False), spec)

    first, again, other = split(1), split(1), split(2)
    for name in ("train_x", "train_y", "val_y", "test_y"):
        assert torch.equal(getattr(first, name), getattr(again, name))
    assert not torch.equal(first.val_y, other.val_y)
    assert (len(first.train_x), len(first.val_x), len(first.test_x)) == (30, 10, 8)
