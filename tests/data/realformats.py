"""Tiny files in the real on-disk formats of MNIST, CIFAR-10, SVHN and an ImageFolder tree, so that the real
torchvision code paths are tested without a download. Images encode their label (a constant value per class)
so that a test can check images and labels stay paired."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image


def class_images(labels: np.ndarray, height: int, width: int, channels: int) -> np.ndarray:
    """uint8 [N, H, W, C] whose every pixel is 20 * label + 5."""
    values = (20 * labels + 5).astype(np.uint8)
    return np.broadcast_to(values[:, None, None, None], (len(labels), height, width, channels)).copy()


def write_mnist(root: Path, n_train: int = 60, n_test: int = 20) -> None:
    raw = root / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, count in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(count) % 10
        images = class_images(labels, 28, 28, 1)[..., 0]
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, count, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, count) + labels.astype(np.uint8).tobytes())


def write_cifar10(root: Path, per_batch: int = 12, n_test: int = 20) -> None:
    folder = root / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]
    for name, count in batches:
        labels = np.arange(count) % 10
        data = class_images(labels, 32, 32, 3).transpose(0, 3, 1, 2).reshape(count, 3072)  # CIFAR rows are CHW
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data, "labels": labels.tolist(), "batch_label": name}, handle)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, handle)


def write_svhn(root: Path, n_train: int = 60, n_test: int = 20) -> None:
    folder = root / "svhn"
    folder.mkdir(parents=True)
    for split, count in (("train", n_train), ("test", n_test)):
        labels = np.arange(count) % 10
        images = class_images(labels, 32, 32, 3).transpose(1, 2, 3, 0)  # SVHN's X is [H, W, C, N]
        svhn_labels = np.where(labels == 0, 10, labels)[:, None]  # SVHN writes digit 0 as 10
        scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": images, "y": svhn_labels.astype(np.uint8)})


def write_image_folder(root: Path, classes: int = 3, per_class: int = 8, size: int = 40) -> None:
    """<root>/imagenet/{train,val}/<wnid>/*.JPEG-like PNG files, at a resolution other than the recipe's."""
    for split, count in (("train", per_class), ("val", per_class // 2)):
        for label in range(classes):
            folder = root / "imagenet" / split / f"n{label:08d}"
            folder.mkdir(parents=True)
            for index in range(count):
                Image.fromarray(class_images(np.array([label]), size, size, 3)[0]).save(folder / f"img{index}.png")
