"""Tiny modules covering every construct the parameter-graph builder handles, and helpers for the tests."""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable

import numpy as np
import timm
import torch
from torch import Tensor, nn


class SimpleCNN(nn.Module):
    """Unterthiner et al.-style plain CNN: 3 conv 3x3 stride 2, ReLU, global average pool, dropout, linear."""

    def __init__(self, channels: int = 8, classes: int = 5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1))
        self.head = nn.Linear(channels, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 4))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class FlattenCNN(nn.Module):
    """Conv, BatchNorm, max-pool, then a Linear over the flattened (channel, height, width) map."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 5, padding=2)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 4 * 4, 7)

    def forward(self, x: Tensor) -> Tensor:
        x = nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.view(x.size(0), -1))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.down is None else self.down(x)
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + shortcut)


class TinyResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2))
        self.blocks = nn.Sequential(Block(8, 8, 1), Block(8, 12, 2))
        self.head = nn.Linear(12, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


class DeepSets(nn.Module):
    """Pixels as a set: per-pixel phi MLP, mean pooling, rho MLP, linear head (Zaheer et al. 2017)."""

    def __init__(self) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
        self.rho = nn.Sequential(nn.Linear(16, 16), nn.ReLU())
        self.head = nn.Linear(16, 10)

    def forward(self, x: Tensor) -> Tensor:
        points = x.flatten(2).transpose(1, 2)
        return self.head(self.rho(self.phi(points).mean(1)))


def tiny_vit() -> nn.Module:
    return timm.models.vision_transformer.VisionTransformer(
        img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=4, mlp_ratio=2.0, num_classes=10,
        qkv_bias=True)


OWN: dict[str, Callable[[], nn.Module]] = {
    "own-simple-cnn": SimpleCNN, "own-mlp": MLP, "own-flatten-cnn": FlattenCNN, "own-resnet": TinyResNet,
    "own-deepsets": DeepSets, "own-vit": tiny_vit,
}
TIMM = ("resnet18", "vit_tiny_patch16_224")


def fmsbench_cases() -> list[tuple[str, str]]:
    """Every (arch, size) of fmsbench.models, once that package exists."""
    if importlib.util.find_spec("fmsbench.models") is None:
        return []
    try:
        from fmsbench.models import MODELS
    except ImportError:
        return []
    return [(arch, size) for arch in MODELS.names() for size in ("s", "m")]


def build_case(case: str) -> nn.Module:
    """A module by case id: an own module, a timm model name, or "fmsbench:<arch>:<size>"."""
    torch.manual_seed(0)
    if case in OWN:
        return OWN[case]()
    if case.startswith("fmsbench:"):
        from fmsbench.models import build_model
        _, arch, size = case.split(":")
        return build_model(arch, size, in_channels=3, num_classes=10, image_size=16)
    return timm.create_model(case, pretrained=False)


SMALL_CASES = list(OWN) + [f"fmsbench:{a}:{s}" for a, s in fmsbench_cases()]


def randomized(module: nn.Module, seed: int = 0) -> nn.Module:
    """An eval-mode copy whose biases, norm parameters, running statistics and embeddings are random too."""
    module = copy.deepcopy(module).eval()
    generator = torch.Generator().manual_seed(seed)
    state = module.state_dict()
    for key, value in state.items():
        if not value.is_floating_point():
            continue
        noise = torch.randn(value.shape, generator=generator)
        if key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(value.shape, generator=generator)
        elif value.dim() <= 1 or key.endswith(("cls_token", "pos_embed")):
            state[key] = value + 0.1 * noise
    module.load_state_dict(state)
    return module


def outputs(module: nn.Module, state: dict[str, Tensor], x: Tensor) -> Tensor:
    clone = copy.deepcopy(module)
    clone.load_state_dict(state)
    with torch.no_grad():
        return clone.eval()(x)


def sorted_rows(rows: Tensor) -> np.ndarray:
    """Rows in lexicographic order: two tensors are equal multisets of rows iff these are equal."""
    values = rows.detach().numpy()
    return values[np.lexsort(values.T[::-1])]
