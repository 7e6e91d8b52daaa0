"""CIFAR-10 from its published python batches, read without letting the files run code.

The batches (<root>/cifar10/cifar-10-batches-py/{data_batch_1..5,test_batch}) are Python pickles: a dict with
`data` (uint8 [N, 3072], rows CHW) and `labels` (N ints), keys str or bytes depending on the Python that wrote
them. Unpickling may call any importable function the file names, so a crafted batch could run code when the md5
check is off (`verify = false`, for repacked copies) and torchvision's loader, which unpickles freely, is used.
Here an unpickler admits only what those files hold: dicts, lists, str, bytes, numbers and numpy arrays
(numpy's array reconstructors, `numpy.ndarray`, `numpy.dtype`, and `_codecs.encode`, which protocol-2 pickles
written by Python 3 use for bytes); any other global is refused before anything is called, and the result must
have the shape of a batch.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import check_integrity, download_and_extract_archive

from fmsbench.data.base import DATASETS, RawData, missing
from fmsbench.data.spec import DatasetSpec
from fmsbench.errors import DatasetMissingError

_ARRAY_REBUILDERS = {np.zeros(0).__reduce__()[0], np.zeros(1).__reduce_ex__(5)[0]}  # numpy's own, whatever version
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{(module, f.__name__): f for f in _ARRAY_REBUILDERS
       for module in (f.__module__, f.__module__.replace("numpy._core", "numpy.core"))},  # numpy 2 and 1 names
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}
IMAGE_VALUES = 3 * 32 * 32


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that resolves only `ALLOWED_GLOBALS`: a pickle naming any other function or class fails."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR-10 batch never holds") from None


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of one batch file; DatasetMissingError if it is not one."""
    try:
        entry = BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except Exception as error:  # noqa: BLE001  (whatever a crafted or truncated pickle raises, it is not a batch)
        raise _not_a_batch(path, f"{type(error).__name__}: {error}") from None
    if not isinstance(entry, dict):
        raise _not_a_batch(path, f"it holds a {type(entry).__name__}, not a dict")
    entry = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in entry.items()}
    data, labels = entry.get("data"), entry.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != IMAGE_VALUES:
        raise _not_a_batch(path, f"its 'data' is not a uint8 array of {IMAGE_VALUES} values per image")
    if not isinstance(labels, list) or len(labels) != len(data) or \
            not all(isinstance(y, int) and not isinstance(y, bool) and 0 <= y < 10 for y in labels):
        raise _not_a_batch(path, f"its 'labels' are not {len(data)} class ids 0..9")
    return data.reshape(-1, 3, 32, 32), np.asarray(labels, np.int64)


def _not_a_batch(path: Path, reason: str) -> DatasetMissingError:
    return DatasetMissingError(f"{path} is not a CIFAR-10 batch ({reason}); replace it with the published file")


@DATASETS.register("cifar10", pools=(50_000, 10_000), classes=10)
def cifar10(spec: DatasetSpec, root: Path, download: bool) -> RawData:
    where = root / "cifar10"
    folder = where / CIFAR10.base_folder
    files = {"train": CIFAR10.train_list, "test": CIFAR10.test_list}
    if download and not all((folder / name).is_file() for name, _ in [*files["train"], *files["test"]]):
        download_and_extract_archive(CIFAR10.url, str(where), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
    splits = {}
    for split, batches in files.items():
        parts = []
        for name, md5 in batches:
            if not check_integrity(str(folder / name), md5 if spec.verify else None):
                raise missing("cifar10", where, "cifar-10-batches-py/data_batch_1..5 and test_batch with matching "
                              "md5 sums", "shapes")
            parts.append(read_batch(folder / name))
        splits[split] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    return RawData(torch.from_numpy(train_x), torch.from_numpy(train_y), torch.from_numpy(test_x),
                   torch.from_numpy(test_y), 10)
