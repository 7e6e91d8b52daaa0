import pytest
import torch
from torch import nn
from weightzoo import MLP, FlattenCNN, SimpleCNN, TinyResNet, tiny_vit

from fmsbench.weights.builder import is_leaf
from fmsbench.weights.errors import UnsupportedArchitectureError
from fmsbench.weights.trace import trace


@pytest.mark.parametrize(("module", "shape"), [
    (MLP(), (12,)), (SimpleCNN(), (3, 32, 32)), (FlattenCNN(), (3, 8, 8)), (tiny_vit(), (3, 16, 16)),
])
def test_input_shape_is_inferred(module, shape):
    traced = trace(module, is_leaf)
    assert traced.input_shape == shape
    assert next(iter(traced.graph.nodes)).meta["shape"] == (2, *shape)


def test_explicit_input_shape_wins():
    assert trace(SimpleCNN(), is_leaf, (3, 20, 20)).input_shape == (3, 20, 20)


def test_tracing_leaves_modes_and_running_statistics_alone():
    module = TinyResNet().train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    trace(module, is_leaf)
    assert module.training and all(m.training for m in module.modules())
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x) if x.sum() > 0 else x


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x, y):
        return self.fc(x + y)


@pytest.mark.parametrize(("module", "message"), [
    (DataDependent(), "cannot trace DataDependent"), (TwoInputs(), "needs more than one input (y)"),
    (nn.Sequential(nn.ReLU()), "no Linear or Conv layer"),
])
def test_untraceable_modules_raise_a_typed_error(module, message):
    with pytest.raises(UnsupportedArchitectureError, match=message.replace("(", r"\(").replace(")", r"\)")):
        trace(module, is_leaf)
