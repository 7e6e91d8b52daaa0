import pytest
import torch
from torch import nn
from weightzoo import MLP, FlattenCNN, SimpleCNN, TinyResNet, build_case, randomized, tiny_vit

from fmsbench.weights.builder import build_spec
from fmsbench.weights.errors import UnsupportedArchitectureError
from fmsbench.weights.features import (
    EDGE_CENTRE,
    EDGE_FAN_IN,
    EDGE_KERNEL,
    EDGE_QKV,
    EDGE_RMS,
    NODE_BIAS,
    NODE_CLS,
    NODE_POS,
    NODE_QKV_BIAS,
    NODE_SCALE,
    NODE_SHIFT,
    EdgeType,
    NodeType,
    to_grid,
)
from fmsbench.weights.structure import ParameterGraph


def fill(module, **kwargs):
    graph = ParameterGraph(build_spec(module), **kwargs)
    return graph, graph.fill(module.state_dict())


def edge(data, src, dst):
    hit = ((data.edge_index[0] == src) & (data.edge_index[1] == dst)).nonzero()
    assert len(hit) == 1, f"expected one edge {src}->{dst}"
    return data.edge_attr[hit[0, 0]]


def test_plain_cnn_nodes_edges_and_features():
    module = SimpleCNN(channels=8, classes=5)
    graph, data = fill(module)
    assert graph.num_nodes == 3 + 3 * 8 + 5
    assert data.num_edges == 3 * 8 + 2 * 8 * 8 + 8 * 5
    assert torch.bincount(data.node_type).tolist() == [3, 24, 5]
    conv = module.features[0]
    rms = conv.weight.square().mean().sqrt()
    attr = edge(data, 2, 3 + 4)  # input channel 2 -> first conv's channel 4
    assert torch.allclose(attr[EDGE_KERNEL], conv.weight[4, 2].reshape(9) / rms)
    assert torch.isclose(attr[EDGE_RMS], rms.log()) and torch.isclose(attr[EDGE_FAN_IN], torch.tensor(27 ** -0.5))
    assert torch.allclose(data.x[3:11, NODE_BIAS], conv.bias)
    head = edge(data, 3 + 16 + 1, 27 + 3)  # last conv channel 1 -> class 3
    fc_rms = module.head.weight.square().mean().sqrt()
    assert torch.isclose(head[EDGE_CENTRE] * fc_rms, module.head.weight[3, 1])
    assert head[EDGE_KERNEL].count_nonzero() == 1


def test_linear_after_flatten_gets_one_edge_per_channel_with_its_spatial_block():
    module = FlattenCNN()
    graph, data = fill(module)
    assert graph.num_nodes == 3 + 6 + 7 and data.num_edges == 3 * 6 + 6 * 7
    block = module.fc.weight.reshape(7, 6, 4, 4)[5, 2]
    rms = module.fc.weight.square().mean().sqrt()
    assert torch.allclose(edge(data, 3 + 2, 9 + 5)[EDGE_KERNEL], to_grid(block) / rms, atol=1e-6)
    assert torch.allclose(edge(data, 0, 3)[EDGE_KERNEL], to_grid(module.conv.weight[0, 0]) / module.conv.weight.square().mean().sqrt(), atol=1e-6)


def test_batchnorm_is_folded_with_running_statistics():
    module = randomized(FlattenCNN())
    _, data = fill(module)
    bn = module.bn
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    assert torch.allclose(data.x[3:9, NODE_SCALE], scale)
    assert torch.allclose(data.x[3:9, NODE_SHIFT], bn.bias - bn.running_mean * scale)


def test_residual_adds_join_channels_through_identity_edges():
    graph, data = fill(TinyResNet())
    joins = (data.node_type == NodeType.JOIN).nonzero().flatten()
    assert len(joins) == 8 + 12
    identity = data.edge_type == EdgeType.IDENTITY
    assert identity.sum() == 2 * len(joins)
    assert set(data.edge_index[1, identity].tolist()) == set(joins.tolist())
    assert torch.all(data.edge_attr[identity, EDGE_CENTRE] == 1)


def test_vit_attention_tokens_and_embeddings():
    module = randomized(tiny_vit())
    graph, data = fill(module)
    types = torch.bincount(data.node_type, minlength=len(NodeType))
    assert types[NodeType.HEAD] == 2 * 4 and types[NodeType.ATTENTION] == 2 * 32
    attn = module.blocks[0].attn
    dims = (data.node_type == NodeType.ATTENTION).nonzero().flatten()[:32]
    qkv = data.edge_type == EdgeType.QKV
    first = qkv & (data.edge_index[1] == dims[5])
    src = data.edge_index[0, first]
    rms = attn.qkv.weight.square().mean().sqrt()
    patch = (data.node_type == NodeType.HIDDEN).nonzero().flatten()[:32]  # patch embedding channels
    order = torch.searchsorted(patch, src)
    expected = attn.qkv.weight.reshape(3, 32, 32)[:, 5, :].T[order] / rms
    assert len(src) == 16 and torch.allclose(data.edge_attr[first][:, EDGE_QKV], expected)
    assert torch.allclose(data.x[dims[5], NODE_QKV_BIAS], attn.qkv.bias.reshape(3, 32)[:, 5])
    heads = data.edge_type == EdgeType.HEAD
    assert heads.sum() == 2 * 32
    assert torch.allclose(data.x[patch, NODE_CLS], module.cls_token[0, 0])
    pos = module.pos_embed[0]
    assert torch.allclose(data.x[patch, NODE_POS.start], pos[0])
    assert torch.allclose(data.x[patch, NODE_POS.start + 1:NODE_POS.stop],
                          to_grid(pos[1:].T.reshape(32, 4, 4)), atol=1e-6)


def test_deepsets_pooling_keeps_channel_nodes():
    graph, data = fill(build_case("own-deepsets"))
    assert graph.num_nodes == 3 + 16 * 3 + 10 and data.num_edges == 3 * 16 + 16 * 16 * 2 + 16 * 10


def test_outputs_are_typed_and_positioned():
    _, data = fill(MLP())
    assert data.node_type[-4:].tolist() == [NodeType.OUTPUT] * 4
    assert data.x[-4:, -4].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])


class ChannelSlice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x)[:, :2]


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.rnn = nn.GRU(4, 4, batch_first=True)

    def forward(self, x):
        return self.rnn(self.fc(x.flatten(2).transpose(1, 2)))[0]


class Gram(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, x):
        h = self.fc(x.flatten(2).transpose(1, 2))
        return h @ h.transpose(1, 2)


@pytest.mark.parametrize(("module", "message"), [
    (ChannelSlice(), "indexing the channel axis"),
    (nn.Sequential(nn.Conv2d(4, 4, 3, groups=2)), r"grouped convolution \(groups=2\)"),
    (Recurrent(), "module type GRU"),
    (Gram(), "'matmul' combining channels"),
])
def test_unsupported_operations_name_the_op(module, message):
    with pytest.raises(UnsupportedArchitectureError, match=message):
        build_spec(module)
