"""A read-only view of one task of a built hub: the only door through which the replay loop sees a hub."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn

from fmsbench.errors import FmsbenchError
from fmsbench.hub.layout import Layout, unflatten
from fmsbench.hub.store import HubFile


class Benchmark:
    """Configs, learning curves and per-epoch checkpoints of one task of a hub.

    Curves are loaded into memory at once (small); checkpoints are read from disk on demand.
    Epoch 0 is the pretrained model with its new head, before any fine-tuning; epochs run 0..max_epoch.
    """

    def __init__(self, path: Path | str, task: str | None = None) -> None:
        self._hub = HubFile(path)
        self.path = self._hub.path
        try:
            self.tasks = self._hub.tasks
            self.task = self._pick_task(task)
            info = self._hub.task(self.task)
            self._curves = self._hub.curves(self.task)
        except FmsbenchError:
            self._hub.close()
            raise
        self.metrics = self._hub.metrics
        self.max_epoch = info.max_epoch
        self.num_classes = info.num_classes
        self.model_ids = self._hub.model_ids
        self.model_infos = self._hub.models
        self.search_space = self._hub.search_space
        self.configs = self._hub.configs

    def _pick_task(self, task: str | None) -> str:
        if task is None:
            if len(self.tasks) != 1:
                raise FmsbenchError(f"hub {self.path} has tasks {', '.join(self.tasks)}; set task to one of them",
                                    parameters=("task",))
            return self.tasks[0]
        if task not in self.tasks:
            raise FmsbenchError(f"hub {self.path} has no task '{task}'; its tasks are: {', '.join(self.tasks)}")
        return task

    # ----------------------------------------------------------------- metadata
    @property
    def n_configs(self) -> int:
        return len(self.configs)

    @property
    def hub_name(self) -> str:
        return self._hub.recipe_name

    def fingerprint(self) -> str:
        """A digest of this task's configs and curves: tells two builds of a same-named hub apart."""
        return self._hub.fingerprint(self.task)

    @cached_property
    def models(self) -> pd.DataFrame:
        return pd.DataFrame([{"model_id": m.model_id, "arch": m.arch, "size": m.size, "seed": m.seed}
                             for m in self._hub.models])

    # ----------------------------------------------------------------- curves
    def curve(self, config: int, upto_epoch: int | None = None, metric: str | None = "val_acc") -> np.ndarray:
        """Epochs 0..upto_epoch (default max_epoch) of one metric ([epochs]) or of all metrics ([epochs, metric])."""
        upto = self.max_epoch if upto_epoch is None else upto_epoch
        if not 0 <= upto <= self.max_epoch:
            raise ValueError(f"upto_epoch must be in 0..{self.max_epoch}, got {upto}")
        values = self._curves[config, : upto + 1]
        return values if metric is None else values[:, self.metrics.index(metric)]

    def all_curves(self, metric: str = "val_acc") -> np.ndarray:
        """[config, epoch 0..E] of one metric, for metrics and tests (methods must go through the replay loop)."""
        return self._curves[:, :, self.metrics.index(metric)]

    @property
    def best_val(self) -> float:
        """y*: the best validation accuracy of any config at any fine-tuned epoch (1..E)."""
        return float(self.all_curves("val_acc")[:, 1:].max())

    @property
    def worst_final_val(self) -> float:
        """The worst validation accuracy at the max epoch: the normaliser of regret."""
        return float(self.all_curves("val_acc")[:, -1].min())

    def final_val(self) -> np.ndarray:
        """True validation accuracy of every config at the max epoch (the target of Kendall's tau)."""
        return self.all_curves("val_acc")[:, -1].copy()

    # ----------------------------------------------------------------- checkpoints
    def layout(self, config: int) -> Layout:
        return self._hub.layout(self.task, config)

    def checkpoint(self, config: int, epoch: int) -> dict[str, torch.Tensor]:
        """The state_dict of `config` after `epoch` epochs of fine-tuning, as float32 (int buffers restored)."""
        if not 0 <= epoch <= self.max_epoch:
            raise ValueError(f"epoch must be in 0..{self.max_epoch}, got {epoch}")
        return unflatten(*self._hub.checkpoint(self.task, config, epoch))

    def module(self, config: int, epoch: int) -> nn.Module:
        """The torch module of `config` at `epoch`, rebuilt from the architecture registry."""
        row = self.configs.iloc[config]
        return rebuild_module(self.model_infos[int(row["model"])], self.num_classes, float(row["dropout"]),
                              self.checkpoint(config, epoch))

    def close(self) -> None:
        self._hub.close()

    def __enter__(self) -> Benchmark:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ModelShape(Protocol):
    """What rebuilding a module needs of a pretrained model (`ModelInfo` has it)."""

    arch: str
    size: str
    in_channels: int
    image_size: int


def rebuild_module(model: ModelShape, num_classes: int, dropout: float, state_dict: dict[str, torch.Tensor]) -> nn.Module:
    """A fresh module of the model's architecture (it draws from torch's generator, like any new module) holding
    `state_dict`, in eval mode."""
    from fmsbench.models import build_model

    module = build_model(model.arch, model.size, in_channels=model.in_channels, num_classes=num_classes,
                         image_size=model.image_size, dropout=dropout)
    module.load_state_dict(state_dict)
    return module.eval()
