"""`resnet`: a CIFAR-style ResNet ("Deep Residual Learning for Image Recognition", He et al., arXiv 1512.03385)
sized for small images: a 3x3 stem without max-pool, then stages of torchvision's BasicBlock (the first of each
later stage with stride 2 and a 1x1 projection shortcut), global average pooling, dropout, linear head."""

from __future__ import annotations

from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock

from fmsbench.models.base import MODELS, size_config

# (stage widths, blocks per stage)
SIZES = {"s": ((16, 32), 1), "m": ((16, 32), 2)}


def _stage(in_width: int, width: int, blocks: int, stride: int) -> nn.Sequential:
    shortcut = None
    if stride != 1 or in_width != width:
        shortcut = nn.Sequential(nn.Conv2d(in_width, width, 1, stride, bias=False), nn.BatchNorm2d(width))
    layers = [BasicBlock(in_width, width, stride, shortcut)]
    layers += [BasicBlock(width, width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class SmallResNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, ...], blocks: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        stages, width = [], widths[0]
        for index, out in enumerate(widths):
            stages.append(_stage(width, out, blocks, 1 if index == 0 else 2))
            width = out
        self.stages = nn.Sequential(*stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head_drop = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.head_drop(self.pool(self.stages(self.stem(x)))))


@MODELS.register("resnet", sizes=tuple(SIZES))
def resnet(size: str, *, in_channels: int, num_classes: int, image_size: int, dropout: float = 0.0) -> SmallResNet:
    widths, blocks = size_config("resnet", SIZES, size)
    return SmallResNet(in_channels, num_classes, widths, blocks, dropout)
