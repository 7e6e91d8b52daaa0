"""A summary of a built hub for `fmsbench hub info`: what it holds and how big it is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fmsbench.errors import HubError
from fmsbench.hub.store import open_hub


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


@dataclass
class HubSummary:
    path: Path
    recipe_name: str
    kind: str
    created: str
    fmsbench_version: str
    weights_dtype: str
    n_configs: int
    models: list[dict]
    tasks: list[TaskSummary]
    size_bytes: int


def summarize_hub(path: Path | str) -> HubSummary:
    path = Path(path)
    with open_hub(path) as h5:
        try:
            metrics = json.loads(h5.attrs["metrics"])
            val, test = metrics.index("val_acc"), metrics.index("test_acc")
            models = []
            for model_id in json.loads(h5.attrs["model_ids"]):
                group = h5[f"models/{model_id}"]
                models.append({
                    "id": model_id, "arch": group.attrs["arch"], "size": group.attrs["size"],
                    "parameters": int(group["weights"].shape[0]),
                    "pretrain_val_acc": float(group["pretrain_curves"][-1, val]),
                })
            tasks = []
            for name in sorted(h5["tasks"]):
                group = h5[f"tasks/{name}"]
                curves = group["curves"][()]
                final = curves[:, -1, val]
                tasks.append(TaskSummary(
                    name, json.loads(group.attrs["dataset"])["name"], int(group.attrs["max_epoch"]),
                    int(group.attrs["n_train"]), int(group.attrs["n_val"]), int(group.attrs["n_test"]),
                    float(final.min()), float(np.median(final)), float(final.max()), float(curves[:, 1:, test].max()),
                ))
            return HubSummary(
                path, str(h5.attrs["recipe_name"]), str(h5.attrs["kind"]), str(h5.attrs["created"]),
                str(h5.attrs["fmsbench_version"]), str(h5.attrs["weights_dtype"]), len(h5["configs/model"]),
                models, tasks, path.stat().st_size,
            )
        except (OSError, KeyError) as error:
            raise HubError(f"{path} is damaged or truncated ({error}); rebuild it with `fmsbench build-hub`") from None
