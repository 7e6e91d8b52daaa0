"""The architecture registry: `@MODELS.register("cnn", sizes=...)` puts a factory `(size, *, in_channels,
num_classes, image_size, dropout) -> nn.Module` under its CLI name. Every model ends in a Linear classifier named
`head` (what fine-tuning replaces when the class count changes) with an `nn.Dropout(dropout)` named `head_drop`
right before it: the config's dropout, which the build's trainers drive with per-config seeded masks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeVar

from torch import nn

from fmsbench.errors import UnknownNameError
from fmsbench.registry import Registry

HEAD = "head"
HEAD_DROPOUT = "head_drop"


class ModelFactory(Protocol):
    def __call__(self, size: str, *, in_channels: int, num_classes: int, image_size: int,
                 dropout: float = 0.0) -> nn.Module: ...


MODELS: Registry[ModelFactory] = Registry("architecture", entry_points="fmsbench.architectures")
C = TypeVar("C")


def size_config(arch: str, sizes: Mapping[str, C], size: str) -> C:
    """The config of `size` for `arch`, or a one-line error listing the sizes."""
    if size not in sizes:
        raise UnknownNameError(f"unknown size '{size}' for architecture '{arch}'; choose one of: {', '.join(sizes)}")
    return sizes[size]


def build_model(arch: str, size: str, *, in_channels: int, num_classes: int, image_size: int,
                dropout: float = 0.0) -> nn.Module:
    """A freshly initialised model of a registered architecture and size (seed torch first for reproducibility)."""
    return MODELS.get(arch)(size, in_channels=in_channels, num_classes=num_classes, image_size=image_size,
                            dropout=dropout)


def head_prefix(model: nn.Module) -> str:
    """State-dict prefix of the classification head ("head")."""
    if not isinstance(getattr(model, HEAD, None), nn.Linear):
        raise TypeError(f"{type(model).__name__} has no Linear classifier named '{HEAD}'")
    return HEAD


def head_dropout(model: nn.Module) -> nn.Dropout:
    """The config's dropout module, right before the head."""
    module = getattr(model, HEAD_DROPOUT, None)
    if not isinstance(module, nn.Dropout):
        raise TypeError(f"{type(model).__name__} has no nn.Dropout named '{HEAD_DROPOUT}' before its head")
    return module


def sizes_of(arch: str) -> tuple[str, ...]:
    """The sizes a registered architecture accepts (registered with it as `sizes`)."""
    return tuple(MODELS.meta(arch).get("sizes", ()))
