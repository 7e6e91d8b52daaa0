"""Real datasets through torchvision's own classes, read from `<data root>/<name>/` in their published layouts.

- mnist:    <root>/mnist/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte      (torchvision MNIST)
- svhn:     <root>/svhn/{train,test}_32x32.mat                                      (torchvision SVHN)
- imagenet: <root>/imagenet/{train,val}/<class>/<image>, any resolution, e.g. downsampled 32x32 ImageNet
            (torchvision ImageFolder; images are resized to the recipe's size while loading)

`download=True` lets torchvision fetch mnist/svhn when online. torchvision checks the md5 of the SVHN files; a spec
with `verify=False` skips that check (test fixtures, repacked copies). CIFAR-10 has its own reader (`cifar.py`):
torchvision's unpickles its batches freely.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import datasets

from fmsbench.data.base import DATASETS, RawData, missing
from fmsbench.data.spec import DatasetSpec


class _UnverifiedSVHN(datasets.SVHN):
    """SVHN whose files only need to exist (spec.verify = False)."""

    split_list = {split: [url, name, None] for split, (url, name, _) in datasets.SVHN.split_list.items()}


def _open(make, name: str, where: Path, expected: str, offline: str):
    """Construct a torchvision dataset, turning its 'not found' RuntimeError into our one-line error."""
    try:
        return make()
    except RuntimeError as error:
        if "not found" in str(error).lower() or "corrupted" in str(error).lower():
            raise missing(name, where, expected, offline) from None
        raise


@DATASETS.register("mnist", pools=(60_000, 10_000), classes=10)
def mnist(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    where = root / "mnist"
    expected = "MNIST/raw/train-images-idx3-ubyte and the other three idx files"
    train, test = (_open(lambda train=train: datasets.MNIST(where, train=train, download=download), "mnist", where,
                         expected, "digits") for train in (True, False))
    return RawData(train.data[:, None], train.targets, test.data[:, None], test.targets, 10)


@DATASETS.register("svhn", pools=(73_257, 26_032), classes=10)
def svhn(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    where = root / "svhn"
    cls = datasets.SVHN if spec.verify else _UnverifiedSVHN
    expected = "train_32x32.mat and test_32x32.mat with matching md5 sums"
    train, test = (_open(lambda split=split: cls(where, split=split, download=download), "svhn", where, expected,
                         "house-digits") for split in ("train", "test"))
    return RawData(torch.from_numpy(train.data), torch.from_numpy(train.labels), torch.from_numpy(test.data),
                   torch.from_numpy(test.labels), 10)


@DATASETS.register("imagenet", pools=(1_281_167, 50_000), classes=1000)  # ILSVRC-2012, any resolution
def imagenet(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    """ImageFolder tree; class ids come from the train folder's sorted class names, shared by val."""
    where = root / "imagenet"
    if not (where / "train").is_dir() or not (where / "val").is_dir():
        raise missing("imagenet", where, "train/<class>/<image> and val/<class>/<image> folders (ImageFolder layout;"
                      " downsampled 32x32 ImageNet works)", "fractals")
    train = datasets.ImageFolder(str(where / "train"))
    val = datasets.ImageFolder(str(where / "val"))
    if val.classes != train.classes:
        unknown = sorted(set(val.classes) - set(train.classes))
        raise missing("imagenet", where, f"the same class folders in val/ as in train/ (val has {unknown[:3]}...)",
                      "fractals")
    train_x, train_y = _read_folder(train, spec)
    test_x, test_y = _read_folder(val, spec)
    return RawData(train_x, train_y, test_x, test_y, len(train.classes))


def _read_folder(folder: datasets.ImageFolder, spec: DatasetSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode and resize every image of an ImageFolder to the spec's size as it is read (keeps memory small)."""
    mode, size = ("RGB" if spec.channels == 3 else "L"), (spec.image_size, spec.image_size)
    images = np.empty((len(folder.samples), spec.channels, *size), np.uint8)
    for index, (path, _) in enumerate(folder.samples):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert(mode).resize(size, Image.Resampling.BILINEAR))
        images[index] = pixels.reshape(*size, spec.channels).transpose(2, 0, 1)
    return torch.from_numpy(images), torch.tensor(folder.targets)
