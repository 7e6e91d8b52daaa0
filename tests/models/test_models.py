"""Every registered architecture and size: shapes, the `head` classifier, dropout, sizes, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fmsbench.errors import UnknownNameError
from fmsbench.models import MODELS, build_model, head_prefix, sizes_of

CASES = [(arch, size) for arch in MODELS.names() for size in sizes_of(arch)]


def _parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_architecture_has_at_least_two_sizes() -> None:
    assert set(MODELS.names()) == {"simple-cnn", "cnn", "resnet", "vit", "deepsets"}
    for arch in MODELS.names():
        sizes = sizes_of(arch)
        assert len(sizes) >= 2
        small, medium = (build_model(arch, s, in_channels=3, num_classes=10, image_size=16) for s in sizes[:2])
        assert _parameters(small) < _parameters(medium)


@pytest.mark.parametrize(("arch", "size"), CASES)
@pytest.mark.parametrize(("channels", "image_size", "classes"), [(1, 8, 10), (3, 16, 7)])
def test_forward_shape_and_head(arch: str, size: str, channels: int, image_size: int, classes: int) -> None:
    model = build_model(arch, size, in_channels=channels, num_classes=classes, image_size=image_size)
    logits = model(torch.randn(5, channels, image_size, image_size))
    assert logits.shape == (5, classes)
    head = model.get_submodule(head_prefix(model))
    assert isinstance(head, nn.Linear) and head.out_features == classes


@pytest.mark.parametrize(("arch", "size"), CASES)
def test_dropout_is_honoured(arch: str, size: str) -> None:
    x = torch.randn(4, 3, 16, 16)
    torch.manual_seed(0)
    model = build_model(arch, size, in_channels=3, num_classes=10, image_size=16, dropout=0.5)
    rates = {m.p for m in model.modules() if isinstance(m, nn.Dropout)}
    assert 0.5 in rates
    model.train()
    assert not torch.equal(model(x), model(x)), "dropout must be active in training mode"
    model.eval()
    assert torch.equal(model(x), model(x))
    plain = build_model(arch, size, in_channels=3, num_classes=10, image_size=16, dropout=0.0)
    assert all(m.p == 0.0 for m in plain.modules() if isinstance(m, nn.Dropout))


def test_simple_cnn_is_the_unterthiner_size() -> None:
    """3 conv layers x 16 channels on 1-channel 10-class data: 4,970 parameters (Unterthiner et al. 2020)."""
    model = build_model("simple-cnn", "s", in_channels=1, num_classes=10, image_size=28)
    assert _parameters(model) == 4970
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 3


def test_vit_comes_from_timm() -> None:
    from timm.models.vision_transformer import VisionTransformer

    assert isinstance(build_model("vit", "s", in_channels=3, num_classes=10, image_size=16), VisionTransformer)


def test_unknown_architecture_and_size_are_one_line_errors() -> None:
    with pytest.raises(UnknownNameError, match="unknown architecture 'mlp'; choose one of: simple-cnn"):
        build_model("mlp", "s", in_channels=3, num_classes=10, image_size=16)
    with pytest.raises(UnknownNameError, match="unknown size 'xl' for architecture 'cnn'; choose one of: s, m"):
        build_model("cnn", "xl", in_channels=3, num_classes=10, image_size=16)
