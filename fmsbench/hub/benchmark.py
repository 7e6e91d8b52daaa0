"""A read-only view of one task of a built hub: the only door through which the replay loop sees a hub."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch
from torch import nn

from fmsbench.errors import FmsbenchError, HubError
from fmsbench.hub.layout import Layout, layout_from_json, unflatten
from fmsbench.hub.store import CONFIG_COLUMNS, open_hub


class Benchmark:
    """Configs, learning curves and per-epoch checkpoints of one task of a hub.

    Curves are loaded into memory at once (small); checkpoints are read from disk on demand.
    Epoch 0 is the pretrained model with its new head, before any fine-tuning; epochs run 0..max_epoch.
    """

    def __init__(self, path: Path | str, task: str | None = None) -> None:
        self.path = Path(path)
        self._h5 = open_hub(self.path)
        try:
            self.tasks: list[str] = sorted(self._h5["tasks"].keys())
            self.task = self._pick_task(task)
            group = self._h5[f"tasks/{self.task}"]
            self.metrics: list[str] = json.loads(self._h5.attrs["metrics"])
            self.max_epoch = int(group.attrs["max_epoch"])
            self.num_classes = int(group.attrs["num_classes"])
            self._curves: np.ndarray = group["curves"][()]
            self._weight_row: np.ndarray = group["weight_row"][()]
            self.model_ids: list[str] = json.loads(self._h5.attrs["model_ids"])
            self.search_space: dict[str, list] = json.loads(self._h5.attrs["search_space"])
            self.configs = self._read_configs()
        except (OSError, KeyError) as error:
            self._h5.close()
            raise HubError(f"{self.path} is damaged or truncated ({error}); rebuild it with `fmsbench build-hub`") from None

    def _pick_task(self, task: str | None) -> str:
        if task is None:
            if len(self.tasks) != 1:
                raise FmsbenchError(f"hub {self.path} has tasks {', '.join(self.tasks)}; choose one with --task")
            return self.tasks[0]
        if task not in self.tasks:
            raise FmsbenchError(f"hub {self.path} has no task '{task}'; its tasks are: {', '.join(self.tasks)}")
        return task

    def _read_configs(self) -> pd.DataFrame:
        table = pd.DataFrame({c: self._h5[f"configs/{c}"][()] for c in CONFIG_COLUMNS})
        table["arch"] = [self._h5[f"models/{self.model_ids[m]}"].attrs["arch"] for m in table["model"]]
        table.index.name = "config"
        return table

    # ----------------------------------------------------------------- metadata
    @property
    def n_configs(self) -> int:
        return len(self.configs)

    @property
    def hub_name(self) -> str:
        return str(self._h5.attrs["recipe_name"])

    @cached_property
    def models(self) -> pd.DataFrame:
        rows = []
        for model_id in self.model_ids:
            attrs = self._h5[f"models/{model_id}"].attrs
            rows.append({"model_id": model_id, **{k: attrs[k] for k in ("arch", "size", "seed")}})
        return pd.DataFrame(rows)

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
    def _weights(self, config: int) -> h5py.Dataset:
        return self._h5[f"tasks/{self.task}/weights/{self.model_ids[int(self.configs['model'].iat[config])]}"]

    def layout(self, config: int) -> Layout:
        return layout_from_json(self._weights(config).attrs["layout"])

    def checkpoint(self, config: int, epoch: int) -> dict[str, torch.Tensor]:
        """The state_dict of `config` after `epoch` epochs of fine-tuning, as float32 (int buffers restored)."""
        if not 0 <= epoch <= self.max_epoch:
            raise ValueError(f"epoch must be in 0..{self.max_epoch}, got {epoch}")
        dataset = self._weights(config)
        vector = dataset[self._weight_row[config], epoch].astype(np.float32)
        return unflatten(vector, layout_from_json(dataset.attrs["layout"]))

    def module(self, config: int, epoch: int) -> nn.Module:
        """The torch module of `config` at `epoch`, rebuilt from the architecture registry."""
        from fmsbench.models import build_model

        row = self.configs.iloc[config]
        attrs = self._h5[f"models/{self.model_ids[int(row['model'])]}"].attrs
        model = build_model(
            str(attrs["arch"]),
            str(attrs["size"]),
            in_channels=int(attrs["in_channels"]),
            num_classes=self.num_classes,
            image_size=int(attrs["image_size"]),
            dropout=float(row["dropout"]),
        )
        model.load_state_dict(self.checkpoint(config, epoch))
        return model.eval()

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> Benchmark:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
