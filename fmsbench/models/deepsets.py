"""`deepsets`: an image as the set of its pixels ("Deep Sets", Zaheer et al., arXiv 1703.06114): a per-pixel MLP
phi, mean pooling over pixels (permutation invariant), an MLP rho, dropout and a linear head."""

from __future__ import annotations

from torch import Tensor, nn

from fmsbench.models.base import MODELS, size_config

SIZES = {"s": 32, "m": 64}


class DeepSets(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(in_channels, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.rho = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU())
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        pixels = x.flatten(2).transpose(1, 2)  # [B, H*W, C]: a set of pixels
        return self.head(self.dropout(self.rho(self.phi(pixels).mean(1))))


@MODELS.register("deepsets")
def deepsets(size: str, *, in_channels: int, num_classes: int, image_size: int, dropout: float = 0.0) -> DeepSets:
    return DeepSets(in_channels, num_classes, size_config("deepsets", SIZES, size), dropout)


deepsets.sizes = tuple(SIZES)  # type: ignore[attr-defined]
