"""A state_dict's layout (names, shapes, dtypes) and its round trip through one flat vector.

Checkpoints are stored as rows of a [config, epoch, parameter] array; the layout is what turns a row
back into a state_dict that `load_state_dict` accepts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str  # torch dtype name, e.g. "float32" or "int64" (BatchNorm's num_batches_tracked)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


Layout = tuple[TensorSpec, ...]


def layout_of(state_dict: dict[str, torch.Tensor]) -> Layout:
    return tuple(
        TensorSpec(name, tuple(t.shape), str(t.dtype).removeprefix("torch.")) for name, t in state_dict.items()
    )


def layout_size(layout: Layout) -> int:
    return sum(spec.numel for spec in layout)


def flatten(state_dict: dict[str, torch.Tensor]) -> np.ndarray:
    """All tensors of a state_dict, in order, as one float32 vector."""
    parts = [t.detach().reshape(-1).to(torch.float32).cpu().numpy() for t in state_dict.values()]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def unflatten(vector: np.ndarray, layout: Layout) -> dict[str, torch.Tensor]:
    if vector.shape[-1] != layout_size(layout):
        raise ValueError(f"vector has {vector.shape[-1]} values but the layout needs {layout_size(layout)}")
    flat = torch.from_numpy(np.asarray(vector, dtype=np.float32))
    out: dict[str, torch.Tensor] = {}
    offset = 0
    for spec in layout:
        chunk = flat[offset : offset + spec.numel].reshape(spec.shape)
        out[spec.name] = chunk.to(getattr(torch, spec.dtype)).clone()
        offset += spec.numel
    return out


def layout_to_json(layout: Layout) -> str:
    return json.dumps([[s.name, list(s.shape), s.dtype] for s in layout])


def layout_from_json(text: str) -> Layout:
    return tuple(TensorSpec(name, tuple(shape), dtype) for name, shape, dtype in json.loads(text))
