"""`simple-cnn`: the small CNN of the Unterthiner et al. zoo ("Predicting Neural Network Accuracy from Weights",
arXiv 2002.11448): three 3x3 convolutions with stride 2 and ReLU, global average pooling, dropout, a linear head.
Size "s" is the paper's 16 channels (4,970 parameters on 1-channel 10-class data); "m" has 32.
"""

from __future__ import annotations

from torch import Tensor, nn

from fmsbench.models.base import MODELS, size_config

SIZES = {"s": 16, "m": 32}


class SimpleCNN(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, channels: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_channels
        for _ in range(3):
            layers += [nn.Conv2d(width, channels, 3, stride=2, padding=1), nn.ReLU()]
            width = channels
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head_drop = nn.Dropout(dropout)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.head_drop(self.features(x)))


@MODELS.register("simple-cnn", sizes=tuple(SIZES))
def simple_cnn(size: str, *, in_channels: int, num_classes: int, image_size: int, dropout: float = 0.0) -> SimpleCNN:
    return SimpleCNN(in_channels, num_classes, size_config("simple-cnn", SIZES, size), dropout)
