import time

import pytest
import torch
from torch import nn
from weightzoo import MLP, SimpleCNN, TinyResNet, randomized

from fmsbench.weights import FEATURIZERS, structure
from fmsbench.weights.errors import CheckpointMismatchError, UnsupportedArchitectureError
from fmsbench.weights.features import EDGE_DIM, NODE_DIM
from fmsbench.weights.structure import STRUCTURES, ParameterGraph, parameter_graph, structural_signature


def test_structure_is_built_once_per_architecture():
    STRUCTURES.clear()
    first = parameter_graph(TinyResNet())
    second = parameter_graph(randomized(TinyResNet(), seed=3).train())
    assert second is first and (STRUCTURES.misses, STRUCTURES.hits) == (1, 1)
    assert parameter_graph(MLP()) is not first and STRUCTURES.misses == 2


def test_signature_tells_architectures_apart():
    assert structural_signature(SimpleCNN(8)) == structural_signature(SimpleCNN(8))
    assert structural_signature(SimpleCNN(8)) != structural_signature(SimpleCNN(6))


def test_prepare_on_a_new_checkpoint_is_fast_and_never_rebuilds(monkeypatch):
    module = TinyResNet()
    featurizer = FEATURIZERS.get("gmn")({"resnet": module})

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the structure was rebuilt")

    monkeypatch.setattr(structure, "build_spec", no_rebuild)
    checkpoints = [randomized(module, seed).state_dict() for seed in range(20)]
    start = time.perf_counter()
    prepared = [featurizer.prepare("resnet", sd) for sd in checkpoints]
    per_checkpoint = (time.perf_counter() - start) / len(checkpoints)
    assert per_checkpoint < 0.02, f"prepare took {per_checkpoint * 1e3:.1f} ms"
    assert prepared[0].x.shape[1] == NODE_DIM and prepared[0].edge_attr.shape[1] == EDGE_DIM
    assert not torch.equal(prepared[0].x, prepared[1].x)
    assert parameter_graph(TinyResNet()) is featurizer.graphs["resnet"]


def test_half_precision_checkpoints_are_accepted():
    module = SimpleCNN()
    graph = parameter_graph(module)
    half = {k: v.half() for k, v in module.state_dict().items()}
    assert torch.allclose(graph.fill(half).edge_attr, graph.fill(module.state_dict()).edge_attr, atol=1e-2)


def test_checkpoint_of_another_architecture_is_rejected():
    graph = parameter_graph(SimpleCNN(channels=8))
    with pytest.raises(CheckpointMismatchError, match=r"features.0.bias.* has shape \(6,\), expected \(8,\)"):
        graph.fill(SimpleCNN(channels=6).state_dict())
    with pytest.raises(CheckpointMismatchError, match="checkpoint has no 'head.bias'"):
        graph.fill({k: v for k, v in SimpleCNN(channels=8).state_dict().items() if k != "head.bias"})


def test_wide_layers_keep_the_top_k_incoming_edges():
    module = nn.Sequential(nn.Linear(40, 30), nn.ReLU(), nn.Linear(30, 5))
    graph = ParameterGraph(structure.build_spec(module), max_fan_in=4)
    data = graph.fill(module.state_dict())
    assert data.num_edges == 30 * 4 + 5 * 4
    into_first = data.edge_index[1] == 40 + 7
    kept = set(data.edge_index[0, into_first].tolist())
    assert kept == set(module[0].weight[7].abs().topk(4).indices.tolist())


def test_graphs_beyond_the_cap_are_refused(monkeypatch):
    monkeypatch.setattr(structure, "MAX_NODES", 20)
    with pytest.raises(UnsupportedArchitectureError, match="parameter graph too large: 32 nodes"):
        ParameterGraph(structure.build_spec(MLP()))
