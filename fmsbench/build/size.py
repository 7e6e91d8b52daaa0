"""How much disk a hub build needs, known before anything trains: a recipe that cannot fit is refused up front.

A build writes one shard per job (uncompressed .npz) and then packs them into the hub (gzip, so no larger), so it
needs at least the uncompressed size of every curve and checkpoint of the hub:

    pool     models x parameters(model) x 4 bytes (float32 pretrained weights) + their pretraining curves
    curves   tasks x configs x (epochs + 1) x len(METRICS) x 4 bytes
    weights  tasks x sum over configs of (epochs + 1) x parameters(config's model) x itemsize(weights_dtype)

Parameter counts come from building each architecture on torch's meta device (no memory is allocated) with a
2-class head, the fewest a task can have, so the projection is a lower bound. `check_hub_fits` refuses a build
whose projection exceeds the free space of the output folder (less the shards a resumed build already wrote).
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fmsbench.build.plan import Plan
from fmsbench.errors import RecipeError
from fmsbench.hub.store import METRICS
from fmsbench.models import build_model

FLOAT32 = 4
FEWEST_CLASSES = 2


@dataclass(frozen=True)
class SizeProjection:
    """Bytes of a hub build, uncompressed (a lower bound, see the module docstring)."""

    pool: int
    curves: int
    weights: int
    checkpoints: int  # fine-tuning checkpoints: tasks x configs x (epochs + 1)
    largest_model: int  # parameters

    @property
    def total(self) -> int:
        return self.pool + self.curves + self.weights


def parameter_count(arch: str, size: str, channels: int, image_size: int) -> int:
    """Values in the state_dict of one model (2-class head), counted without allocating them."""
    with torch.device("meta"):
        model = build_model(arch, size, in_channels=channels, num_classes=FEWEST_CLASSES, image_size=image_size)
    return sum(tensor.numel() for tensor in model.state_dict().values())


def project_hub_size(plan: Plan) -> SizeProjection:
    recipe = plan.recipe
    counts = {(m.arch, m.size): parameter_count(m.arch, m.size, recipe.channels, recipe.image_size)
              for m in plan.models}
    per_model = np.array([counts[(m.arch, m.size)] for m in plan.models], dtype=object)  # Python ints: no overflow
    checkpoints_per_run = recipe.epochs + 1
    tasks, configs = len(recipe.tasks), len(plan.configs)
    pretrain_epochs = max(job.model.settings.epochs for job in plan.pretrain_jobs) + 1
    itemsize = np.dtype(recipe.weights_dtype).itemsize
    return SizeProjection(
        pool=int(per_model.sum()) * FLOAT32 + len(plan.models) * pretrain_epochs * len(METRICS) * FLOAT32,
        curves=tasks * configs * checkpoints_per_run * len(METRICS) * FLOAT32,
        weights=tasks * int(per_model[plan.configs["model"].to_numpy()].sum()) * checkpoints_per_run * itemsize,
        checkpoints=tasks * configs * checkpoints_per_run,
        largest_model=int(max(counts.values())),
    )


def check_hub_fits(plan: Plan, out: Path, shard_dir: Path) -> SizeProjection:
    """The projection of `plan`'s hub, or RecipeError if it exceeds the free space where it is to be written."""
    projection = project_hub_size(plan)
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    free = shutil.disk_usage(existing).free
    written = sum(p.stat().st_size for p in shard_dir.glob("*.npz")) if shard_dir.is_dir() else 0
    if projection.total - written > free:
        raise RecipeError(
            f"recipe '{plan.recipe.name}' makes a hub of at least {human_bytes(projection.total)} "
            f"({projection.checkpoints:,} fine-tuning checkpoints of up to {projection.largest_model:,} parameters, "
            f"plus curves), more than the {human_bytes(free)} free in {existing}; lower epochs, grid.n_configs, "
            "the number of tasks, image_size or the model sizes, or free disk space"
        )
    return projection


def human_bytes(count: int) -> str:
    """1536 -> '1.5 KiB'."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    power = min(int(math.log(max(count, 1), 1024)), len(units) - 1)
    return f"{count / 1024**power:,.1f} {units[power]}"
