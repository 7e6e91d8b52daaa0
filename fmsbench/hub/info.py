"""A summary of a built hub for `fmsbench hub info`: what it holds, how big it is, what its data allow (headroom)
and what is degenerate about it (warnings)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fmsbench.hub.headroom import Headroom, file_headroom, hub_warnings
from fmsbench.hub.store import HubFile
from fmsbench.metrics import at_chance, flat_curves


@dataclass
class TaskSummary:
    name: str
    dataset: str
    max_epoch: int
    n_train: int
    n_val: int
    n_test: int
    final_val_min: float
    final_val_median: float
    final_val_max: float
    best_test: float
    at_chance: float  # share of configs whose final val acc is at chance
    flat: float  # share of configs whose curve is flat


@dataclass
class HubSummary:
    path: Path
    recipe_name: str
    kind: str
    created: str
    fmsbench_version: str
    weights_dtype: str
    environment: dict[str, str]
    n_configs: int
    models: list[dict]
    tasks: list[TaskSummary]
    size_bytes: int
    headroom: list[Headroom]
    warnings: list[str]


def summarize_hub(path: Path | str, headroom: bool = True, verify: bool = False) -> HubSummary:
    """The hub's contents; with `headroom`, each task's ceilings too (seeded forests: seconds per task); with
    `verify`, after reading every dataset of it once (see `HubFile.verify`)."""
    with HubFile(path) as hub:
        if verify:
            hub.verify()
        val, test = hub.metrics.index("val_acc"), hub.metrics.index("test_acc")
        models = []
        for m in hub.models:
            accuracy = float(hub.pretrain_curves(m.model_id)[-1, val])
            models.append({"id": m.model_id, "arch": m.arch, "size": m.size, "parameters": m.n_parameters,
                           "pretrain_val_acc": accuracy, "at_chance": bool(at_chance(accuracy, m.num_classes))})
        tasks = []
        for name in hub.tasks:
            info, curves = hub.task(name), hub.curves(name)
            final = curves[:, -1, val]
            tasks.append(TaskSummary(
                name, info.dataset["name"], info.max_epoch, info.n_train, info.n_val, info.n_test,
                float(final.min()), float(np.median(final)), float(final.max()), float(curves[:, 1:, test].max()),
                float(at_chance(final, info.num_classes).mean()), float(flat_curves(curves[:, :, val]).mean()),
            ))
        return HubSummary(hub.path, hub.recipe_name, hub.kind, hub.created, hub.fmsbench_version, hub.weights_dtype,
                          hub.environment,
                          len(hub.configs), models, tasks, hub.path.stat().st_size,
                          [file_headroom(path, name) for name in hub.tasks] if headroom else [], hub_warnings(hub))
