"""Run one build job (a pretraining run or a stack of fine-tuning runs) in a worker and write its shards
atomically; read shards back for packing.

A shard is an .npz file named by a job's key: curves, weights, the state_dict layout and a JSON info record.
Pretraining shards keep the final weights in float32 (they seed fine-tuning); fine-tuning shards keep every
epoch's weights in the recipe's weights_dtype. A stack writes one shard per config, the same as training each
config alone would (`fmsbench.build.stacked`), so shards never depend on how configs were stacked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fmsbench.atomic import atomic_path
from fmsbench.build.plan import FinetuneStack, PoolModel, PretrainJob
from fmsbench.build.stacked import stack_capacity, train_stack
from fmsbench.build.train import TrainSettings, apply_init, train
from fmsbench.build.zoo_file import load_zoo_model
from fmsbench.data import DatasetSpec, Splits, load_dataset
from fmsbench.executors.base import worker_device
from fmsbench.hub.layout import Layout, flatten, layout_from_json, layout_of, layout_to_json, unflatten
from fmsbench.models import build_model, head_prefix
from fmsbench.provenance import numeric_environment


@dataclass(frozen=True)
class JobOutcome:
    key: str
    images: int
    train_seconds: float
    eval_seconds: float


@dataclass
class Shard:
    curves: np.ndarray
    weights: np.ndarray
    layout: Layout
    info: dict


def shard_path(shard_dir: Path, key: str) -> Path:
    return shard_dir / f"{key}.npz"


def write_shard(path: Path, shard: Shard) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, curves=shard.curves, weights=shard.weights,
                 layout=np.array(layout_to_json(shard.layout)), info=np.array(json.dumps(shard.info)))


def read_shard(path: Path) -> Shard:
    with np.load(path, allow_pickle=False) as data:
        return Shard(data["curves"], data["weights"], layout_from_json(str(data["layout"])), json.loads(str(data["info"])))


def run_job(job: PretrainJob | FinetuneStack, shard_dir: Path, data_root: str | None, weights_dtype: str,
            dataset_cache: Path | None = None, device: str | None = None) -> list[JobOutcome]:
    """Execute one job (in whatever process the executor chose) and write its shards; one outcome per shard.

    Models are built and loaded on the CPU (the same initial weights everywhere), then trained on `device`
    (default: the device the executor gave this worker).
    """
    device = device or worker_device()
    if isinstance(job, PretrainJob):
        return [_pretrain(job, shard_dir, data_root, dataset_cache, device)]
    return _finetune(job, shard_dir, data_root, weights_dtype, dataset_cache, device)


def _pretrain(job: PretrainJob, shard_dir: Path, data_root: str | None, dataset_cache: Path | None,
              device: str) -> JobOutcome:
    data = load_dataset(job.dataset, data_root, cache=dataset_cache)
    settings = job.model.settings
    model = _fresh_model(job.model, job.dataset, data.num_classes, settings)
    extra: dict = {}
    if job.model.source is not None:  # an imported zoo model: load it, then only evaluate it
        extra["origin"] = load_zoo_model(model, job.model.source.path, job.model.source.index)
    else:
        apply_init(model, settings.init)
    result = train(model, data, settings, record_weights=bool(job.keep), device=device)
    state = model.state_dict()
    weights = result.weights[list(job.keep)] if job.keep else flatten(state)[None]  # float32: they seed fine-tuning
    shard = Shard(result.curves, weights, layout_of(state),
                  {**_sizes(data), **extra, "kept": list(job.kept), "environment": numeric_environment([device])})
    write_shard(shard_path(shard_dir, job.key), shard)
    return JobOutcome(job.key, result.images, result.train_seconds, result.eval_seconds)


def _finetune(stack: FinetuneStack, shard_dir: Path, data_root: str | None, weights_dtype: str,
              dataset_cache: Path | None, device: str) -> list[JobOutcome]:
    first = stack.jobs[0]
    data = load_dataset(first.dataset, data_root, cache=dataset_cache)
    keys = dict.fromkeys(job.pretrain_key for job in stack.jobs)
    pretrained = {key: read_shard(shard_path(shard_dir, key)) for key in keys}
    models = []
    for job in stack.jobs:
        models.append(_fresh_model(job.model, job.dataset, data.num_classes, job.settings))
        run = pretrained[job.pretrain_key]
        _load_backbone(models[-1], pretrained_weights(run, job.model), run.layout)
    layout = layout_of(models[0].state_dict())
    settings = [job.settings for job in stack.jobs]
    limit = stack_capacity(models[0], data, settings[0], device)  # a GPU holds only so many at once
    results = []
    for begin in range(0, len(models), limit):
        part, part_settings = models[begin : begin + limit], settings[begin : begin + limit]
        if len(part) == 1:
            results.append(train(part[0], data, part_settings[0], record_weights=True, device=device))
        else:
            results.extend(train_stack(part, data, part_settings, record_weights=True, device=device))
    outcomes, info = [], {**_sizes(data), "environment": numeric_environment([device])}  # the stack's, shared
    for job, result in zip(stack.jobs, results, strict=True):
        shard = Shard(result.curves, result.weights.astype(weights_dtype), layout, info)
        write_shard(shard_path(shard_dir, job.key), shard)
        outcomes.append(JobOutcome(job.key, result.images, result.train_seconds, result.eval_seconds))
    return outcomes


def _fresh_model(model: PoolModel, dataset: DatasetSpec, num_classes: int, settings: TrainSettings) -> torch.nn.Module:
    """The model of a job, initialised from the job's own seed (a new head's weights too)."""
    torch.manual_seed(settings.seed)
    return build_model(model.arch, model.size, in_channels=dataset.channels, num_classes=num_classes,
                       image_size=dataset.image_size, dropout=settings.dropout)


def _sizes(data: Splits) -> dict[str, int]:
    return {"num_classes": data.num_classes, "n_train": len(data.train_x), "n_val": len(data.val_x),
            "n_test": len(data.test_x)}


def pretrained_weights(shard: Shard, model: PoolModel) -> np.ndarray:
    """A pool model's weights in its run's shard: the row of its epoch (the last row: the run's end)."""
    return shard.weights[-1] if model.epoch < 0 else shard.weights[shard.info["kept"].index(model.epoch)]


def _load_backbone(model: torch.nn.Module, weights: np.ndarray, layout: Layout) -> None:
    """Load pretrained weights; their head is kept only if the class count matches."""
    state = unflatten(weights, layout)
    own = model.state_dict()
    prefix = head_prefix(model) + "."
    if any(own[name].shape != tensor.shape for name, tensor in state.items() if name in own):
        state = {name: tensor for name, tensor in state.items() if not name.startswith(prefix)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not name.startswith(prefix) for name in missing):
        raise RuntimeError(f"pretrained weights do not fit: missing {missing}, unexpected {unexpected}")
