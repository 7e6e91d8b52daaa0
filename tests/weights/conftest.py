"""Fixtures of the weight-featurizer tests: modules by case id (see weightzoo.py)."""

from __future__ import annotations

import pytest
from torch import nn
from weightzoo import build_case, randomized


@pytest.fixture(scope="session")
def timm_models() -> dict[str, nn.Module]:
    """The two large timm models, built once with random weights (pretrained=False)."""
    return {name: randomized(build_case(name)) for name in ("resnet18", "vit_tiny_patch16_224")}
