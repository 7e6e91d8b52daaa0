"""The checkpoints side file of an export (`fmsbench hub export --checkpoints`): every config's weights at every
epoch, for tools that read a Syne Tune blackbox or the CSV curves and want the checkpoints too.

`checkpoints.h5` (HDF5; this module writes it and `read_checkpoint` reads it back)::

    /                  attrs: format="fmsbench-checkpoints", format_version=1, hub (name), weights_dtype
    /<task>/<config>   <weights_dtype> [epoch 0..E, parameter]: the flattened state_dict after each epoch of
                       fine-tuning (epoch 0: the pretrained model with its new head), gzip-compressed;
                       attrs: model_id, arch, size, layout (JSON: [[name, shape, dtype], ...] in order)

A row splits back into a state_dict by the layout: consecutive slices of prod(shape) values, one per tensor,
cast to its dtype; `read_checkpoint` does it and returns torch tensors that `load_state_dict` accepts.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch

from fmsbench.atomic import atomic_path
from fmsbench.errors import HubError
from fmsbench.hub.layout import layout_from_json, layout_to_json, unflatten
from fmsbench.hub.store import HubFile

FILE_NAME = "checkpoints.h5"
FORMAT_NAME = "fmsbench-checkpoints"
FORMAT_VERSION = 1


def write_checkpoints(hub: Path | str, out: Path | str) -> Path:
    """Write `out`/checkpoints.h5 with every (task, config, epoch) checkpoint of `hub`, atomically."""
    path = Path(out) / FILE_NAME
    with HubFile(hub) as opened, atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(format=FORMAT_NAME, format_version=FORMAT_VERSION, hub=opened.recipe_name,
                        weights_dtype=opened.weights_dtype)
        for task in opened.tasks:
            epochs = opened.task(task).max_epoch + 1
            for config in range(len(opened.configs)):
                model = opened.models[int(opened.configs["model"].iat[config])]
                rows = [opened.checkpoint(task, config, epoch)[0] for epoch in range(epochs)]
                dataset = h5.create_dataset(f"{task}/{config}", data=np.stack(rows).astype(opened.weights_dtype),
                                            chunks=(1, rows[0].size), compression="gzip", shuffle=True)
                dataset.attrs.update(model_id=model.model_id, arch=model.arch, size=model.size,
                                     layout=layout_to_json(opened.layout(task, config)))
    return path


def read_checkpoint(path: Path | str, task: str, config: int, epoch: int) -> dict[str, torch.Tensor]:
    """The state_dict of `config` after `epoch` epochs on `task`, from a checkpoints.h5 side file (float32)."""
    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("format") != FORMAT_NAME:
                raise HubError(f"{path} is not an fmsbench checkpoints file")
            dataset = h5[f"{task}/{config}"]
            return unflatten(dataset[epoch].astype(np.float32), layout_from_json(dataset.attrs["layout"]))
    except (OSError, KeyError, ValueError, IndexError) as error:
        raise HubError(f"cannot read task {task}, config {config}, epoch {epoch} from {path} ({error})") from None
