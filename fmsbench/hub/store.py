"""The hub's HDF5 schema: the one module that writes (`write_hub`) and reads (`HubFile`) a hub file (schema
version 1).

Layout::

    /                      attrs: schema="fmsbench-hub", schema_version, fmsbench_version, created (UTC ISO),
                                  recipe_name, recipe (TOML text), kind, search_space (JSON), metrics (JSON),
                                  weights_dtype, model_ids (JSON), environment (JSON, `fmsbench.provenance`;
                                  hubs built before it was recorded lack it)
    /configs/<column>      one 1-D dataset per column of the configs table (row = config id); `model` indexes
                           model_ids
    /models/<model_id>     attrs: arch, size, seed, in_channels, image_size, num_classes, info (JSON: zoo
                           hyperparameters, pretraining dataset, ...), layout (JSON)
        pretrain_curves    float32 [epoch 0..P, metric]
        weights            float32 [parameter]: the pretrained (zoo) model, with its own head
    /tasks/<task>          attrs: dataset (JSON of the DatasetSpec), num_classes, max_epoch, n_train, n_val, n_test
        curves             float32 [config, epoch 0..E, metric]; epoch 0 = pretrained weights + new head
        weight_row         int64 [config]: row of the config inside its model's weights dataset
        weights/<model_id> <weights_dtype> [config of that model, epoch 0..E, parameter], attrs: layout (JSON);
                           one chunk per checkpoint, gzip + shuffle

Weights may be stored as float16 to halve the file (recipe key `weights_dtype`); readers always get float32.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from fmsbench.atomic import atomic_path
from fmsbench.errors import HubError
from fmsbench.hub.layout import Layout, layout_from_json, layout_size, layout_to_json
from fmsbench.paths import unsafe_reason
from fmsbench.version import __version__

SCHEMA_NAME = "fmsbench-hub"
SCHEMA_VERSION = 1
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "seconds")
CONFIG_COLUMNS = ("model", "batch_size", "lr", "momentum", "weight_decay", "dropout", "seed")
_COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


@dataclass
class HubMeta:
    recipe_name: str
    recipe_text: str
    kind: str
    search_space: dict[str, list]
    weights_dtype: str = "float16"
    environment: dict[str, str] = field(default_factory=dict)  # `provenance.numeric_environment` of the build


@dataclass
class ModelRecord:
    """One pretrained (zoo) model of the hub's pool."""

    model_id: str
    arch: str
    size: str
    seed: int
    in_channels: int
    image_size: int
    num_classes: int
    layout: Layout
    weights: np.ndarray
    pretrain_curves: np.ndarray
    info: dict = field(default_factory=dict)


@dataclass
class TaskRecord:
    name: str
    dataset: dict
    num_classes: int
    max_epoch: int
    n_train: int
    n_val: int
    n_test: int


@dataclass
class RunRecord:
    """One fine-tuning run: curves [E+1, metric] and weights [E+1, parameter] of one config on one task."""

    task: str
    config: int
    curves: np.ndarray
    weights: np.ndarray
    layout: Layout


def write_hub(
    path: Path | str,
    meta: HubMeta,
    models: list[ModelRecord],
    configs: pd.DataFrame,
    tasks: list[TaskRecord],
    runs: Iterable[RunRecord],
) -> None:
    """Write a complete hub atomically: readers see the old file or the finished new one, never a partial one.

    Raises HubError if `runs` does not cover every (task, config) exactly once.
    """
    missing_columns = set(CONFIG_COLUMNS) - set(configs.columns)
    if missing_columns:
        raise ValueError(f"configs table lacks columns {sorted(missing_columns)}")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        _write_root(h5, meta, models)
        for column in CONFIG_COLUMNS:
            h5.create_dataset(f"configs/{column}", data=configs[column].to_numpy())
        for model in models:
            _write_model(h5, model)
        rows = configs.groupby("model").cumcount().to_numpy()
        for task in tasks:
            _write_task(h5, task, len(configs), rows)
        seen = _write_runs(h5, meta, configs, tasks, rows, runs)
        expected = len(tasks) * len(configs)
        if seen != expected:
            raise HubError(f"hub is incomplete: {seen} of {expected} runs were written")


def _write_root(h5: h5py.File, meta: HubMeta, models: list[ModelRecord]) -> None:
    h5.attrs.update(
        schema=SCHEMA_NAME,
        schema_version=SCHEMA_VERSION,
        fmsbench_version=__version__,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        recipe_name=meta.recipe_name,
        recipe=meta.recipe_text,
        kind=meta.kind,
        search_space=json.dumps(meta.search_space),
        metrics=json.dumps(METRICS),
        weights_dtype=meta.weights_dtype,
        environment=json.dumps(meta.environment),
        model_ids=json.dumps([m.model_id for m in models]),
    )


def _write_model(h5: h5py.File, model: ModelRecord) -> None:
    group = h5.create_group(f"models/{model.model_id}")
    group.attrs.update(
        arch=model.arch,
        size=model.size,
        seed=model.seed,
        in_channels=model.in_channels,
        image_size=model.image_size,
        num_classes=model.num_classes,
        info=json.dumps(model.info),
        layout=layout_to_json(model.layout),
    )
    group.create_dataset("pretrain_curves", data=np.asarray(model.pretrain_curves, np.float32))
    group.create_dataset("weights", data=np.asarray(model.weights, np.float32), **_COMPRESSION)


def _write_task(h5: h5py.File, task: TaskRecord, n_configs: int, rows: np.ndarray) -> None:
    group = h5.create_group(f"tasks/{task.name}")
    group.attrs.update(
        dataset=json.dumps(task.dataset),
        num_classes=task.num_classes,
        max_epoch=task.max_epoch,
        n_train=task.n_train,
        n_val=task.n_val,
        n_test=task.n_test,
    )
    group.create_dataset("curves", shape=(n_configs, task.max_epoch + 1, len(METRICS)), dtype=np.float32)
    group.create_dataset("weight_row", data=rows.astype(np.int64))
    group.create_group("weights")


def _write_runs(
    h5: h5py.File,
    meta: HubMeta,
    configs: pd.DataFrame,
    tasks: list[TaskRecord],
    rows: np.ndarray,
    runs: Iterable[RunRecord],
) -> int:
    model_ids = json.loads(h5.attrs["model_ids"])
    per_model = configs["model"].value_counts()
    task_names = {t.name for t in tasks}
    done: set[tuple[str, int]] = set()
    for run in runs:
        key = (run.task, run.config)
        if run.task not in task_names or key in done:
            raise HubError(f"unexpected or repeated run {key}")
        done.add(key)
        group = h5[f"tasks/{run.task}"]
        group["curves"][run.config] = run.curves
        model_index = int(configs["model"].iat[run.config])
        name = f"weights/{model_ids[model_index]}"
        if name not in group:
            n_epochs, n_params = run.weights.shape
            dataset = group.create_dataset(
                name,
                shape=(int(per_model[model_index]), n_epochs, n_params),
                dtype=meta.weights_dtype,
                chunks=(1, 1, n_params),
                **_COMPRESSION,
            )
            dataset.attrs["layout"] = layout_to_json(run.layout)
        group[name][rows[run.config]] = run.weights.astype(meta.weights_dtype)
    return len(done)


def open_hub(path: Path | str) -> h5py.File:
    """Open a hub read-only, with one-line errors for a missing, truncated, foreign or too-new file."""
    path = Path(path)
    if not path.exists():
        raise HubError(f"hub file {path} does not exist; build one with `fmsbench build-hub`")
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise HubError(
            f"{path} is not a readable HDF5 file (truncated or corrupt?); rebuild it with `fmsbench build-hub`"
        ) from None
    if h5.attrs.get("schema") != SCHEMA_NAME:
        h5.close()
        raise HubError(f"{path} is an HDF5 file but not an fmsbench hub (no schema='{SCHEMA_NAME}' attribute)")
    stored = h5.attrs.get("schema_version", -1)
    try:
        version = operator.index(stored)
    except TypeError:
        h5.close()
        raise HubError(f"{path} has a schema_version that is not an integer ({stored!r}); it is damaged or was not "
                       "written by fmsbench") from None
    if version != SCHEMA_VERSION:
        h5.close()
        raise HubError(
            f"{path} has hub schema version {version}, this fmsbench reads version {SCHEMA_VERSION}; "
            "rebuild the hub with this version"
        )
    return h5


@dataclass(frozen=True)
class ModelInfo:
    """A pretrained model's attributes as stored (its weights and curves are read on demand)."""

    model_id: str
    arch: str
    size: str
    seed: int
    in_channels: int
    image_size: int
    num_classes: int
    n_parameters: int
    info: dict

    @property
    def arch_id(self) -> str:
        """'<arch>-<size>': models with the same arch_id share a parameter layout."""
        return f"{self.arch}-{self.size}"


@dataclass(frozen=True)
class TaskInfo:
    name: str
    dataset: dict
    num_classes: int
    max_epoch: int
    n_train: int
    n_val: int
    n_test: int


class HubFile:
    """Read access to every part of a hub file: the one reader of what `write_hub` writes.

    Cheap metadata (attributes, configs table, models, tasks) is read on open; curves and checkpoints on demand.
    A damaged file raises HubError with one line, whatever part is missing: the stored names that become folders
    (recipe and task names) are checked on open, every weights dataset of a task before its first checkpoint is
    read, and `verify` reads every dataset once.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._h5 = open_hub(self.path)
        self._weight_rows: dict[str, np.ndarray] = {}
        try:
            attrs = self._h5.attrs
            self.recipe_name = str(attrs["recipe_name"])
            self.recipe_text = str(attrs["recipe"])
            self.kind = str(attrs["kind"])
            self.created = str(attrs["created"])
            self.fmsbench_version = str(attrs["fmsbench_version"])
            self.weights_dtype = str(attrs["weights_dtype"])
            self.environment: dict[str, str] = json.loads(attrs.get("environment", "{}"))
            self.metrics: list[str] = json.loads(attrs["metrics"])
            self.search_space: dict[str, list] = json.loads(attrs["search_space"])
            self.model_ids: list[str] = json.loads(attrs["model_ids"])
            self.tasks: list[str] = sorted(self._h5["tasks"].keys())
            self.models = [self._model(model_id) for model_id in self.model_ids]
            self.configs = self._configs()
            for what, name in (("recipe name", self.recipe_name), *(("task name", task) for task in self.tasks)):
                if (reason := unsafe_reason(name)) is not None:
                    raise ValueError(f"its {what} {name!r} cannot be a folder name: {reason}")
        except (OSError, KeyError, ValueError, TypeError, IndexError) as error:
            self.close()
            raise self.damaged(error) from None

    def damaged(self, error: Exception) -> HubError:
        return HubError(f"{self.path} is damaged or truncated ({error}); rebuild it with `fmsbench build-hub`")

    def _model(self, model_id: str) -> ModelInfo:
        group = self._h5[f"models/{model_id}"]
        attrs = group.attrs
        return ModelInfo(model_id, str(attrs["arch"]), str(attrs["size"]), int(attrs["seed"]),
                         int(attrs["in_channels"]), int(attrs["image_size"]), int(attrs["num_classes"]),
                         int(group["weights"].shape[0]), json.loads(attrs["info"]))

    def _configs(self) -> pd.DataFrame:
        table = pd.DataFrame({c: self._h5[f"configs/{c}"][()] for c in CONFIG_COLUMNS})
        table["arch"] = [self.models[m].arch for m in table["model"]]
        table.index.name = "config"
        return table

    def task(self, name: str) -> TaskInfo:
        attrs = self._group(f"tasks/{name}").attrs
        try:
            return TaskInfo(name, json.loads(attrs["dataset"]), int(attrs["num_classes"]), int(attrs["max_epoch"]),
                            int(attrs["n_train"]), int(attrs["n_val"]), int(attrs["n_test"]))
        except (OSError, KeyError, ValueError, TypeError) as error:
            raise self.damaged(error) from None

    def curves(self, task: str) -> np.ndarray:
        """[config, epoch 0..E, metric] of one task, in `metrics` order."""
        return self._read(f"tasks/{task}/curves")

    def fingerprint(self, task: str) -> str:
        """A digest of one task's configs and curves: tells two builds of a same-named hub apart."""
        curves, max_epoch = self.curves(task), self.task(task).max_epoch
        digest = hashlib.sha256(f"{self.recipe_name}/{task}/{max_epoch}".encode())
        digest.update(self.configs.to_csv().encode())
        for index in range(len(self.metrics)):
            digest.update(curves[:, :, index].tobytes())
        return digest.hexdigest()[:16]

    def pretrain_curves(self, model_id: str) -> np.ndarray:
        """[epoch 0..P, metric] of one pretrained model's own training."""
        return self._read(f"models/{model_id}/pretrain_curves")

    def checkpoint(self, task: str, config: int, epoch: int) -> tuple[np.ndarray, Layout]:
        """The flat float32 weights of `config` after `epoch` epochs on `task`, and their layout."""
        if task not in self._weight_rows:
            self._weight_rows[task] = self._check_weights(task)
        dataset = self._weights(task, config)
        try:
            return dataset[int(self._weight_rows[task][config]), epoch].astype(np.float32), self.layout(task, config)
        except (OSError, KeyError, ValueError) as error:
            raise self.damaged(error) from None

    def _check_weights(self, task: str) -> np.ndarray:
        """Check that every weights dataset of `task` is present with the shape its configs and layout need;
        return the task's weight rows."""
        rows = self._read(f"tasks/{task}/weight_row")
        max_epoch, models = self.task(task).max_epoch, self.configs["model"].to_numpy()
        try:
            if rows.shape != models.shape:
                raise ValueError(f"tasks/{task}/weight_row has shape {rows.shape}, expected {models.shape}")
            for model in np.unique(models):
                name = f"tasks/{task}/weights/{self.model_ids[model]}"
                dataset = self._h5[name]
                expected = (int((models == model).sum()), max_epoch + 1,
                            layout_size(layout_from_json(dataset.attrs["layout"])))
                if dataset.shape != expected or not np.isin(rows[models == model], range(expected[0])).all():
                    raise ValueError(f"{name} has shape {dataset.shape}, expected {expected}")
        except (OSError, KeyError, ValueError, TypeError) as error:
            raise self.damaged(error) from None
        return rows

    def verify(self) -> None:
        """Read every dataset of the hub once (every checkpoint included): HubError naming the first one that is
        missing, misshapen or unreadable. Slow on big hubs: it decompresses everything."""
        for model in self.models:
            self.pretrain_curves(model.model_id)
            self._read(f"models/{model.model_id}/weights")
        for task in self.tasks:
            self.curves(task)
            self._check_weights(task)
            for model in np.unique(self.configs["model"].to_numpy()):
                name = f"tasks/{task}/weights/{self.model_ids[model]}"
                dataset = self._group(name)
                for row in range(dataset.shape[0]):
                    try:
                        dataset[row]
                    except (OSError, ValueError) as error:
                        raise self.damaged(OSError(f"{name} row {row}: {error}")) from None

    def layout(self, task: str, config: int) -> Layout:
        """The state_dict layout of `config`'s checkpoints on `task`."""
        try:
            return layout_from_json(self._weights(task, config).attrs["layout"])
        except (OSError, KeyError, ValueError) as error:
            raise self.damaged(error) from None

    def _weights(self, task: str, config: int) -> h5py.Dataset:
        return self._group(f"tasks/{task}/weights/{self.model_ids[int(self.configs['model'].iat[config])]}")

    def _group(self, name: str) -> h5py.Group:
        try:
            return self._h5[name]
        except (OSError, KeyError) as error:
            raise self.damaged(error) from None

    def _read(self, name: str) -> np.ndarray:
        try:
            return self._h5[name][()]
        except (OSError, KeyError, ValueError) as error:
            raise self.damaged(error) from None

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> HubFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hub_files(folder: Path | str) -> list[Path]:
    """The hub files in `folder` (*.h5, by name), leaving out other HDF5 files there such as imported zoos; an
    unreadable .h5 stays in, so that using it says what is wrong with it."""
    found = []
    for path in sorted(Path(folder).glob("*.h5")):
        try:
            with h5py.File(path, "r") as h5:
                if h5.attrs.get("schema") != SCHEMA_NAME:
                    continue
        except OSError:
            pass
        found.append(path)
    return found


def stored_recipe(path: Path | str) -> str | None:
    """The recipe text a hub file was built from, or None if `path` is not a readable hub."""
    try:
        with HubFile(path) as hub:
            return hub.recipe_text
    except HubError:
        return None
