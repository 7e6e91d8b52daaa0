"""Import a CNN zoo in the layout of Unterthiner et al. (2020) as a `simple-cnn` pool for Simple CNN hubs.

"Predicting Neural Network Accuracy from Weights" (Unterthiner, Keysers, Gelly, Bousquet, Tolstikhin;
https://arxiv.org/abs/2002.11448) released its Small CNN Zoo (google-research/dnn_predict_accuracy) as one folder
per dataset::

    weights.npy        float32 [checkpoint, parameter]: each checkpoint's Keras variables, flattened, concatenated
    metrics.csv(.gz)   one row per checkpoint: config.* hyperparameters, modeldir, step, train/test accuracy and loss
    layout.csv         one row per variable: varname (sequential/conv2d/kernel:0, ...), start_idx, end_idx, shape

Keras keeps conv kernels as HWIO and dense kernels as [in, out]; torch wants OIHW and [out, in]. The import keeps
each run's last checkpoint (largest `step` per `modeldir`, where those columns exist), runs with ReLU activation
(the only one `simple-cnn` has) and finite weights, converts them, and writes an imported-zoo file (zoo_file.py).

Note: the Keras zoo convolves with padding='valid', `simple-cnn` pads by 1. An imported model has exactly the zoo's
tensors, but computes a slightly different function at the image borders; the hub re-measures every model.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from fmsbench.build.zoo_file import ZooBlock, ZooHeader, ZooMeta, read_zoo, write_zoo
from fmsbench.errors import ZooError
from fmsbench.hub.layout import layout_of
from fmsbench.models import build_model
from fmsbench.models.simple_cnn import SIZES

ARCH = "simple-cnn"
FORMAT = "unterthiner-2020"
WEIGHTS_FILE = "weights.npy"
METRICS_FILES = ("metrics.csv", "metrics.csv.gz")
LAYOUT_FILE = "layout.csv"
LAYOUT_COLUMNS = ("varname", "start_idx", "end_idx", "shape")
CHUNK = 2048  # checkpoints converted at once
# Keras -> torch axis order: conv kernel HWIO -> OIHW, dense kernel [in, out] -> [out, in], bias as is.
TO_TORCH = {4: (3, 2, 0, 1), 2: (1, 0), 1: (0,)}


@dataclass(frozen=True)
class KerasVariable:
    """One Keras variable's slice [start, end) of a flat checkpoint row, and its Keras shape."""

    name: str
    start: int
    end: int
    shape: tuple[int, ...]

    @property
    def layer(self) -> str:
        return self.name.rsplit("/", 1)[0]

    def to_torch(self, rows: np.ndarray) -> np.ndarray:
        """[n, numel] of this variable in torch order, from checkpoint rows [n, parameter]."""
        block = rows[:, self.start : self.end].reshape(len(rows), *self.shape)
        return block.transpose(0, *(axis + 1 for axis in TO_TORCH[len(self.shape)])).reshape(len(rows), -1)


@dataclass
class ZooImportReport:
    meta: ZooMeta
    checkpoints: int
    skipped: dict[str, int]


def default_out(folder: Path) -> Path:
    return Path("hubs") / f"{Path(folder).resolve().name}-zoo.h5"


def import_zoo(folder: Path | str, out: Path | str | None = None, limit: int | None = None) -> ZooImportReport:
    """Convert the zoo in `folder` and write it to `out` (default hubs/<folder>-zoo.h5); at most `limit` models."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ZooError(f"zoo folder {folder} does not exist (extract the published archive first)")
    if limit is not None and limit < 1:
        raise ZooError(f"the model limit must be positive, got {limit}")
    weights_path = _find(folder, (WEIGHTS_FILE,))
    weights = _load_weights(weights_path)
    layout_path = _find(folder, (LAYOUT_FILE,))
    variables = read_layout(layout_path, weights.shape[1], weights_path)
    header, order = _simple_cnn_header(variables, layout_path, str(folder.resolve()))
    metrics_path = _find(folder, METRICS_FILES)
    metrics = _read_csv(metrics_path)
    if len(metrics) != len(weights):
        raise ZooError(f"{metrics_path} has {len(metrics)} rows but {weights_path} has {len(weights)} checkpoints; "
                       "each metrics row describes one checkpoint")
    rows, skipped = select_final_relu(metrics)
    if not len(rows):
        raise ZooError(f"{folder}: no checkpoint left to import (skipped: {describe_skipped(skipped)})")
    out = default_out(folder) if out is None else Path(out)
    write_zoo(out, header, _blocks(weights, metrics, rows, order, header, limit, skipped))
    return ZooImportReport(read_zoo(out), len(weights), skipped)


def _find(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise ZooError(f"{folder} has no {' or '.join(names)}; an Unterthiner et al. zoo folder holds "
                   f"{WEIGHTS_FILE}, {METRICS_FILES[0]}(.gz) and {LAYOUT_FILE}")


def _load_weights(path: Path) -> np.ndarray:
    try:
        weights = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ZooError(f"{path} is not a readable .npy array ({error})") from None
    if weights.ndim != 2 or not np.issubdtype(weights.dtype, np.floating):
        raise ZooError(f"{path} must be a float array [checkpoint, parameter], got {weights.dtype} {weights.shape}")
    return weights


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as error:
        raise ZooError(f"{path} is not a readable CSV table ({error})") from None


def read_layout(path: Path, n_params: int, weights_path: Path) -> list[KerasVariable]:
    """The variables of layout.csv, sorted by offset; they must tile the whole checkpoint row."""
    table = _read_csv(path)
    missing = [c for c in LAYOUT_COLUMNS if c not in table.columns]
    if missing:
        raise ZooError(f"{path} lacks column(s) {', '.join(missing)}; a layout table has {', '.join(LAYOUT_COLUMNS)}")
    variables = []
    for row in table.itertuples(index=False):
        try:
            shape = ast.literal_eval(str(row.shape))
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            start, end = int(row.start_idx), int(row.end_idx)
        except (ValueError, SyntaxError, TypeError):
            raise ZooError(f"{path}: row of {row.varname} has an unreadable shape or offset") from None
        if not all(isinstance(d, int) and d > 0 for d in shape) or end - start != math.prod(shape):
            raise ZooError(f"{path}: {row.varname} spans {end - start} values, which its shape {shape} does not fit")
        variables.append(KerasVariable(str(row.varname), start, end, shape))
    variables.sort(key=lambda v: v.start)
    expected = 0
    for variable in variables:
        if variable.start != expected:
            raise ZooError(f"{path}: {variable.name} starts at {variable.start}, expected {expected} "
                           "(variables must tile the weight vector without gaps or overlaps)")
        expected = variable.end
    if expected != n_params:
        raise ZooError(f"{path} describes {expected} values per checkpoint but {weights_path} has {n_params}")
    return variables


def _simple_cnn_header(variables: list[KerasVariable], path: Path,
                       source: str) -> tuple[ZooHeader, list[KerasVariable]]:
    """Match the Keras layers to simple-cnn (3 conv + 1 dense); returns the header and the variables in torch order."""
    layers = _keras_layers(variables, path)
    kernels = [parts["kernel:0"] for parts in layers.values()]
    sizes = {channels: size for size, channels in SIZES.items()}
    width = kernels[0].shape[-1]
    if width not in sizes:
        raise ZooError(f"{path}: conv layers have {width} channels; {ARCH} sizes have "
                       f"{', '.join(f'{c} ({s})' for c, s in sizes.items())}")
    in_channels, num_classes = kernels[0].shape[2], kernels[-1].shape[1]
    model = build_model(ARCH, sizes[width], in_channels=in_channels, num_classes=num_classes, image_size=32)
    header = ZooHeader(ARCH, sizes[width], in_channels, num_classes, layout_of(model.state_dict()), source)
    torch_layers = [name for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
    keras_of = {f"{torch_name}.{param}": layers[keras_name][kind]
                for torch_name, keras_name in zip(torch_layers, layers)
                for param, kind in (("weight", "kernel:0"), ("bias", "bias:0"))}
    order = []
    for spec in header.layout:
        variable = keras_of[spec.name]
        torch_shape = tuple(variable.shape[axis] for axis in TO_TORCH[len(variable.shape)])
        if torch_shape != spec.shape:
            raise ZooError(f"{path}: {variable.name} has Keras shape {variable.shape}, i.e. torch {torch_shape}; "
                           f"{ARCH} needs {spec.shape} for {spec.name}")
        order.append(variable)
    return header, order


def _keras_layers(variables: list[KerasVariable], path: Path) -> dict[str, dict[str, KerasVariable]]:
    """{layer: {"kernel:0": ..., "bias:0": ...}} in offset order; must be 3 conv layers then 1 dense layer."""
    layers: dict[str, dict[str, KerasVariable]] = {}
    for variable in variables:
        kind = variable.name.rsplit("/", 1)[-1]
        if kind not in ("kernel:0", "bias:0"):
            raise ZooError(f"{path}: unknown variable {variable.name}; {ARCH} has only conv/dense kernels and biases")
        layers.setdefault(variable.layer, {})[kind] = variable
    ranks = [len(parts["kernel:0"].shape) if "kernel:0" in parts else 0 for parts in layers.values()]
    if ranks != [4, 4, 4, 2] or any(len(parts) != 2 for parts in layers.values()):
        found = ", ".join(f"{name} ({rank}-d kernel)" for name, rank in zip(layers, ranks))
        raise ZooError(f"{path}: expected {ARCH}'s 3 conv layers then 1 dense layer, each a kernel and a bias; "
                       f"found {found}")
    return layers


def select_final_relu(metrics: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """Rows to import: each run's last checkpoint, with ReLU activation; and how many were skipped, by reason."""
    keep = np.ones(len(metrics), dtype=bool)
    skipped: dict[str, int] = {}
    if {"modeldir", "step"} <= set(metrics.columns):
        final = np.zeros(len(metrics), dtype=bool)
        final[metrics.reset_index(drop=True).groupby("modeldir", sort=False)["step"].idxmax().to_numpy()] = True
        skipped["earlier checkpoints"] = int((keep & ~final).sum())
        keep &= final
    if "config.activation" in metrics.columns:
        relu = (metrics["config.activation"] == "relu").to_numpy()
        skipped["activation not relu"] = int((keep & ~relu).sum())
        keep &= relu
    return np.flatnonzero(keep), skipped


def _blocks(weights: np.ndarray, metrics: pd.DataFrame, rows: np.ndarray, order: list[KerasVariable],
            header: ZooHeader, limit: int | None, skipped: dict[str, int]) -> Iterator[ZooBlock]:
    """Converted models in chunks; drops non-finite checkpoints (counted in `skipped`) and stops at `limit`."""
    skipped["non-finite weights"] = 0
    taken = 0
    for first in range(0, len(rows), CHUNK):
        chunk = rows[first : first + CHUNK]
        block = np.asarray(weights[chunk], dtype=np.float32)
        finite = np.isfinite(block).all(axis=1)
        skipped["non-finite weights"] += int((~finite).sum())
        chunk, block = chunk[finite], block[finite]
        if limit is not None:
            chunk, block = chunk[: limit - taken], block[: limit - taken]
        taken += len(chunk)
        ids = [f"{header.arch}-{header.size}-unterthiner{row:06d}" for row in chunk]
        origins = [{"format": FORMAT, "folder": header.source, "row": int(row),
                    "record": json.loads(metrics.iloc[row].to_json(double_precision=15))} for row in chunk]
        yield np.concatenate([variable.to_torch(block) for variable in order], axis=1), ids, origins
        if limit is not None and taken >= limit:
            return


def describe_skipped(skipped: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in skipped.items() if count) or "none"
