"""`cnn`: a VGG-style plain CNN, one (3x3 conv, BatchNorm, ReLU, 2x2 max-pool) stage per width, global
average pooling, dropout, linear head."""

from __future__ import annotations

from torch import Tensor, nn

from fmsbench.models.base import MODELS, size_config

SIZES = {"s": (16, 32), "m": (32, 64)}


class PlainCNN(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, ...], dropout: float = 0.0) -> None:
        super().__init__()
        stages: list[nn.Module] = []
        width = in_channels
        for out in widths:
            stages += [nn.Conv2d(width, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(),
                       nn.MaxPool2d(2, ceil_mode=True)]
            width = out
        self.features = nn.Sequential(*stages, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head_drop = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.head_drop(self.features(x)))


@MODELS.register("cnn", sizes=tuple(SIZES))
def cnn(size: str, *, in_channels: int, num_classes: int, image_size: int, dropout: float = 0.0) -> PlainCNN:
    return PlainCNN(in_channels, num_classes, size_config("cnn", SIZES, size), dropout)
