"""The imported-zoo file: a ready pretrained pool that a Simple CNN recipe names with `[zoo] source = "..."`.

`fmsbench zoo import` writes it; the hub build reads it instead of training a zoo. Schema "fmsbench-zoo",
version 1 (HDF5)::

    /           attrs: schema, schema_version, fmsbench_version, created (UTC ISO), arch, size, in_channels,
                       num_classes, layout (the torch state_dict layout, JSON), source (where it was imported from),
                       digest (sha256 of weights, ids and origins: shards built from another file are never reused)
    weights     float32 [model, parameter], each row a flattened torch state_dict
    model_ids   str [model]
    origin      str [model]: JSON of each model's provenance (source row, its recorded hyperparameters and metrics)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
from torch import nn

from fmsbench.atomic import atomic_path
from fmsbench.errors import ZooError
from fmsbench.hub.layout import Layout, layout_from_json, layout_of, layout_size, layout_to_json, unflatten
from fmsbench.version import __version__

ZOO_SCHEMA = "fmsbench-zoo"
ZOO_SCHEMA_VERSION = 1

ZooBlock = tuple[np.ndarray, list[str], list[dict]]  # weights [n, parameter], model ids, origins


@dataclass(frozen=True)
class ZooHeader:
    """What every model of the file shares: the architecture it loads into and where the models came from."""

    arch: str
    size: str
    in_channels: int
    num_classes: int
    layout: Layout
    source: str


@dataclass(frozen=True)
class ZooMeta:
    path: Path
    header: ZooHeader
    model_ids: tuple[str, ...]
    digest: str


def write_zoo(path: Path | str, header: ZooHeader, blocks: Iterable[ZooBlock]) -> None:
    """Write the models of `blocks` atomically (blocks keep memory bounded for zoos of many thousand models)."""
    hasher = hashlib.sha256()
    ids: list[str] = []
    origins: list[str] = []
    n_params = layout_size(header.layout)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        weights = h5.create_dataset("weights", shape=(0, n_params), maxshape=(None, n_params), dtype=np.float32,
                                    chunks=(1, n_params), compression="gzip", shuffle=True)
        for block, block_ids, block_origins in blocks:
            block = np.ascontiguousarray(block, dtype=np.float32)
            start = weights.shape[0]
            weights.resize(start + len(block), axis=0)
            weights[start:] = block
            hasher.update(block.tobytes())
            ids += block_ids
            origins += [json.dumps(origin) for origin in block_origins]
        if not ids:
            raise ZooError(f"no models to write to {path}: every candidate was skipped")
        h5.create_dataset("model_ids", data=ids, dtype=h5py.string_dtype())
        h5.create_dataset("origin", data=origins, dtype=h5py.string_dtype())
        hasher.update("\n".join(ids + origins).encode())
        h5.attrs.update(
            schema=ZOO_SCHEMA, schema_version=ZOO_SCHEMA_VERSION, fmsbench_version=__version__,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"), arch=header.arch, size=header.size,
            in_channels=header.in_channels, num_classes=header.num_classes, layout=layout_to_json(header.layout),
            source=header.source, digest=hasher.hexdigest()[:16],
        )


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise ZooError(f"imported zoo {path} does not exist; create it with `fmsbench zoo import`")
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise ZooError(f"{path} is not a readable HDF5 file (truncated or corrupt?); import the zoo again") from None
    if h5.attrs.get("schema") != ZOO_SCHEMA or int(h5.attrs.get("schema_version", -1)) != ZOO_SCHEMA_VERSION:
        h5.close()
        raise ZooError(f"{path} is not an imported zoo of schema {ZOO_SCHEMA} v{ZOO_SCHEMA_VERSION}; "
                       "create it with `fmsbench zoo import`")
    return h5


def read_zoo(path: Path | str) -> ZooMeta:
    path = Path(path)
    with _open(path) as h5:
        attrs = h5.attrs
        header = ZooHeader(str(attrs["arch"]), str(attrs["size"]), int(attrs["in_channels"]), int(attrs["num_classes"]),
                           layout_from_json(attrs["layout"]), str(attrs["source"]))
        return ZooMeta(path, header, tuple(h5["model_ids"].asstr()[()]), str(attrs["digest"]))


def load_zoo_model(model: nn.Module, path: Path | str, index: int) -> dict:
    """Load model `index` of the file into `model` (which must have the file's layout); returns its origin record."""
    path = Path(path)
    with _open(path) as h5:
        layout = layout_from_json(h5.attrs["layout"])
        if layout_of(model.state_dict()) != layout:
            raise ZooError(f"{path} holds {h5.attrs['num_classes']}-class {h5.attrs['arch']} models with "
                           f"{h5.attrs['in_channels']} input channels, which do not fit the zoo dataset of the recipe")
        model.load_state_dict(unflatten(h5["weights"][index], layout))
        origin = json.loads(h5["origin"].asstr()[index])
        return {**origin, "zoo_file": str(path), "zoo_digest": str(h5.attrs["digest"])}
