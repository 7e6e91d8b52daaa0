"""The shared invariance check: permute a real network, check its outputs, then the featurizer's output."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from weightzoo import outputs, sorted_rows

from fmsbench.weights.base import WeightFeaturizer
from fmsbench.weights.structure import parameter_graph
from fmsbench.weights.symmetry import permute_state_dict, random_node_permutation


def embed(featurizer: WeightFeaturizer, arch: str, states: list[dict]) -> torch.Tensor:
    with torch.no_grad():
        return featurizer([featurizer.prepare(arch, s) for s in states])


def permuted_states(module: nn.Module, seed: int = 0) -> tuple[dict, dict, dict]:
    """(original, hidden-permuted, input-permuted) state_dicts, after checking what each does to outputs."""
    spec = parameter_graph(module).spec
    state = module.state_dict()
    x = torch.randn(2, *spec.input_shape, generator=torch.Generator().manual_seed(seed))
    symmetric = permute_state_dict(spec, state, random_node_permutation(spec, torch.Generator().manual_seed(seed)))
    torch.testing.assert_close(outputs(module, symmetric, x), outputs(module, state, x), atol=1e-5, rtol=0)
    inputs = random_node_permutation(spec, torch.Generator().manual_seed(seed), inputs=True)
    broken = permute_state_dict(spec, state, inputs)
    assert not torch.allclose(outputs(module, broken, x), outputs(module, state, x), atol=1e-5)
    return state, symmetric, broken


def one_weight_changed(module: nn.Module) -> dict:
    """The state_dict with the largest entry of the first layer's weight increased by 1 (it survives top-K)."""
    spec = parameter_graph(module).spec
    state = dict(module.state_dict())
    key = spec.layers[0].weight_key
    weight = state[key].clone()
    flat = weight.view(-1)
    flat[flat.abs().argmax()] += 1.0
    state[key] = weight
    return state


def assert_graphs_equal_as_multisets(module: nn.Module, state: dict, permuted: dict) -> None:
    graph = parameter_graph(module)
    a, b = graph.fill(state), graph.fill(permuted)
    assert a.num_edges == b.num_edges
    assert np.array_equal(sorted_rows(a.x), sorted_rows(b.x))
    assert np.array_equal(sorted_rows(a.edge_attr), sorted_rows(b.edge_attr))
    assert np.array_equal(sorted_rows(torch.cat([a.x[a.edge_index[0]], a.x[a.edge_index[1]], a.edge_attr], 1)),
                          sorted_rows(torch.cat([b.x[b.edge_index[0]], b.x[b.edge_index[1]], b.edge_attr], 1)))
