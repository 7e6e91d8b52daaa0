"""Run one build job in a worker and write its shard atomically; read shards back for packing.

A shard is an .npz file named by the job's key: curves, weights, the state_dict layout and a JSON info
record. Pretraining shards keep the final weights in float32 (they seed fine-tuning); fine-tuning shards keep
every epoch's weights in the recipe's weights_dtype.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fmsbench.atomic import atomic_path
from fmsbench.build.plan import FinetuneJob, PretrainJob
from fmsbench.build.train import apply_init, train
from fmsbench.build.zoo_file import load_zoo_model
from fmsbench.data import load_dataset
from fmsbench.hub.layout import Layout, flatten, layout_from_json, layout_of, layout_to_json, unflatten
from fmsbench.models import build_model, head_prefix


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


def run_job(job: PretrainJob | FinetuneJob, shard_dir: Path, data_root: str | None, weights_dtype: str,
            device: str = "cpu") -> JobOutcome:
    """Execute one job (in whatever process the executor chose) and write its shard.

    The model is built and loaded on the CPU (the same initial weights everywhere), then trained on `device`.
    """
    data = load_dataset(job.dataset, data_root)
    pretraining = isinstance(job, PretrainJob)
    settings = job.model.settings if pretraining else job.settings
    torch.manual_seed(settings.seed)
    model = build_model(job.model.arch, job.model.size, in_channels=job.dataset.channels,
                        num_classes=data.num_classes, image_size=job.dataset.image_size, dropout=settings.dropout)
    extra: dict = {}
    if pretraining and job.model.source is not None:  # an imported zoo model: load it, then only evaluate it
        extra["origin"] = load_zoo_model(model, job.model.source.path, job.model.source.index)
    elif pretraining:
        apply_init(model, settings.init)
    else:
        _load_backbone(model, read_shard(shard_path(shard_dir, job.pretrain_key)))
    result = train(model, data, settings, record_weights=not pretraining, device=device)
    weights = flatten(model.state_dict())[None] if pretraining else result.weights.astype(weights_dtype)
    info = {"num_classes": data.num_classes, "n_train": len(data.train_x), "n_val": len(data.val_x),
            "n_test": len(data.test_x), **extra}
    write_shard(shard_path(shard_dir, job.key), Shard(result.curves, weights, layout_of(model.state_dict()), info))
    return JobOutcome(job.key, result.images, result.train_seconds, result.eval_seconds)


def _load_backbone(model: torch.nn.Module, pretrained: Shard) -> None:
    """Load the pretrained model's final weights; its head is kept only if the class count matches."""
    state = unflatten(pretrained.weights[-1], pretrained.layout)
    own = model.state_dict()
    prefix = head_prefix(model) + "."
    if any(own[name].shape != tensor.shape for name, tensor in state.items() if name in own):
        state = {name: tensor for name, tensor in state.items() if not name.startswith(prefix)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not name.startswith(prefix) for name in missing):
        raise RuntimeError(f"pretrained weights do not fit: missing {missing}, unexpected {unexpected}")
