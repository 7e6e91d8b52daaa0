"""CIFAR-10 batches are read by an unpickler that admits only what the published files hold: a crafted batch cannot
run code, with or without the md5 check; str and bytes keys (Python 3 and Python 2 pickles) both load."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import realformats

from fmsbench.data import DatasetSpec, load_dataset
from fmsbench.data.cifar import read_batch
from fmsbench.errors import DatasetMissingError

SPEC = DatasetSpec("cifar10", image_size=16, channels=3, n_val=6, n_test=5, verify=False)


class Payload:
    """Unpickling this runs `os.system`: what a crafted batch would do to a loader that unpickles freely."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def _batch(path: Path, protocol: int, bytes_keys: bool) -> None:
    labels = np.arange(12) % 10
    data = realformats.class_images(labels, 32, 32, 3).transpose(0, 3, 1, 2).reshape(12, 3072)
    entry = {"data": data, "labels": labels.tolist(), "batch_label": b"training batch", "filenames": [b"a.png"] * 12}
    with open(path, "wb") as handle:
        pickle.dump({k.encode() if bytes_keys else k: v for k, v in entry.items()}, handle, protocol=protocol)


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("bytes_keys", [False, True])
def test_str_and_bytes_keys_and_every_protocol_load(tmp_path: Path, protocol: int, bytes_keys: bool) -> None:
    _batch(tmp_path / "batch", protocol, bytes_keys)
    images, labels = read_batch(tmp_path / "batch")
    assert images.shape == (12, 3, 32, 32) and images.dtype == np.uint8
    assert (images[:, 0, 16, 16] == 20 * labels + 5).all()


@pytest.mark.parametrize("where", ["data_batch_1", "test_batch"])
@pytest.mark.parametrize("verify", [False, True])
def test_a_batch_holding_code_is_refused_and_never_run(tmp_path: Path, where: str, verify: bool) -> None:
    realformats.write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    with open(tmp_path / "cifar10" / "cifar-10-batches-py" / where, "wb") as handle:
        pickle.dump({"data": Payload(marker), "labels": [0]}, handle)
    match = "md5" if verify else "refers to posix.system, which a CIFAR-10 batch never holds"
    with pytest.raises(DatasetMissingError, match=match) as error:
        load_dataset(DatasetSpec("cifar10", 16, 3, n_val=6, verify=verify), tmp_path)
    assert "\n" not in str(error.value)
    assert not marker.exists(), "the payload ran"


@pytest.mark.parametrize(("content", "reason"), [
    (lambda: {"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "'data' is not a uint8 array"),
    (lambda: {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 11]}, "'labels' are not 2 class ids"),
    (lambda: {"data": np.zeros((2, 3072), object), "labels": [0, 1]}, "'data' is not a uint8 array"),
    (lambda: [1, 2, 3], "it holds a list, not a dict"),
])
def test_a_batch_of_the_wrong_shape_is_one_line(tmp_path: Path, content, reason: str) -> None:  # noqa: ANN001
    with open(tmp_path / "batch", "wb") as handle:
        pickle.dump(content(), handle)
    with pytest.raises(DatasetMissingError, match=reason):
        read_batch(tmp_path / "batch")


def test_a_truncated_batch_is_one_line(tmp_path: Path) -> None:
    _batch(tmp_path / "batch", 4, False)
    (tmp_path / "batch").write_bytes((tmp_path / "batch").read_bytes()[:1000])
    with pytest.raises(DatasetMissingError, match="is not a CIFAR-10 batch"):
        read_batch(tmp_path / "batch")
