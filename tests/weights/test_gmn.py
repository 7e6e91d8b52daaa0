import pytest
import torch
from invariance import assert_graphs_equal_as_multisets, embed, one_weight_changed, permuted_states
from torch_geometric.data import Batch
from torch_geometric.utils import scatter
from weightzoo import SMALL_CASES, build_case, randomized

from fmsbench.weights import FEATURIZERS
from fmsbench.weights.gmn import GMN, GMNConv
from fmsbench.weights.structure import parameter_graph


def check_gmn_invariance(module, **options):
    torch.manual_seed(0)
    state, symmetric, broken = permuted_states(module)
    assert_graphs_equal_as_multisets(module, state, symmetric)
    featurizer = FEATURIZERS.get("gmn")({"arch": module}, **options)
    z = embed(featurizer, "arch", [state, symmetric, broken, one_weight_changed(module)])
    assert z.shape == (4, 32)
    noise = (z[0] - z[1]).abs().max()
    torch.testing.assert_close(z[1], z[0], atol=1e-5, rtol=0)
    for name, other in (("permuted inputs", z[2]), ("one weight changed", z[3])):
        change = (z[0] - other).abs().max()
        assert change > max(1e-6, 10 * noise), f"{name} left the embedding unchanged ({change:.1e})"


@pytest.mark.parametrize("case", SMALL_CASES)
def test_gmn_is_invariant_to_hidden_permutations(case):
    check_gmn_invariance(randomized(build_case(case)))


@pytest.mark.slow  # timm's full-size models: seconds each
def test_gmn_is_invariant_on_timm_resnet18(timm_models):
    check_gmn_invariance(timm_models["resnet18"], hidden=16, num_layers=2)


@pytest.mark.slow  # timm's full-size models: seconds each
def test_gmn_is_invariant_on_timm_vit_tiny(timm_models):
    check_gmn_invariance(timm_models["vit_tiny_patch16_224"], hidden=16, num_layers=2)


@pytest.mark.slow  # timm's full-size models: seconds each
def test_timm_graphs_stay_within_the_cap(timm_models):
    for name, (nodes, cap_edges) in {"resnet18": (7723, 200_000), "vit_tiny_patch16_224": (21967, 400_000)}.items():
        graph = parameter_graph(timm_models[name])
        assert graph.num_nodes == nodes and graph.max_edges <= cap_edges


def test_mixed_architectures_batch_and_train():
    modules = {case: build_case(case) for case in SMALL_CASES}
    featurizer = FEATURIZERS.get("gmn")(modules)
    prepared = [featurizer.prepare(case, m.state_dict()) for case, m in modules.items()]
    z = featurizer(prepared)
    assert z.shape == (len(modules), 32)
    z.sum().backward()
    assert all(p.grad is not None for p in featurizer.parameters())
    alone = featurizer(prepared[:1])
    torch.testing.assert_close(alone[0], z[0], atol=1e-5, rtol=0)


def test_gmn_conv_checks_its_width():
    conv = GMNConv(8)
    x, edge_attr = torch.randn(4, 8), torch.randn(3, 8)
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
    out_x, out_e = conv(x, edge_index, edge_attr)
    assert out_x.shape == (4, 8) and out_e.shape == (3, 8)
    with pytest.raises(ValueError, match="encode the features to 8 first"):
        conv(torch.randn(4, 5), edge_index, edge_attr)


def reference_conv(conv, x, edge_index, edge_attr):
    """GMNConv's documented formula, evaluated literally (one MLP call per edge and direction)."""
    src, tgt = edge_index
    e = conv.edge_norm(edge_attr + conv.edge_mlp(torch.cat([x[tgt], x[src], edge_attr], -1)))
    to_target = conv.message_mlp(torch.cat([x[tgt], x[src], e + conv.direction.weight[0]], -1))
    to_source = conv.message_mlp(torch.cat([x[src], x[tgt], e + conv.direction.weight[1]], -1))
    m = scatter(torch.cat([to_target, to_source]), torch.cat([tgt, src]), dim=0, dim_size=len(x), reduce="mean")
    return conv.node_norm(x + conv.node_mlp(torch.cat([x, m], -1))), e


def test_gmn_conv_factored_form_is_the_documented_formula():
    torch.manual_seed(0)
    conv = GMNConv(8)
    for p in conv.parameters():
        torch.nn.init.normal_(p, std=0.5)  # non-zero biases and direction embeddings
    x, edge_attr = torch.randn(12, 8), torch.randn(30, 8)
    edge_index = torch.randint(0, 10, (2, 30))  # nodes 10 and 11 have no neighbours
    got, want = conv(x, edge_index, edge_attr), reference_conv(conv, x, edge_index, edge_attr)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    grads = [torch.autograd.grad(sum(t.square().sum() for t in out), list(conv.parameters())) for out in (got, want)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_gmn_without_edge_readout():
    module = build_case("own-mlp")
    batch = Batch.from_data_list([parameter_graph(module).fill(module.state_dict())])
    assert GMN(hidden=8, num_layers=1, edge_readout=False)(batch).shape == (1, 32)
