"""Permutations of hidden neurons that leave a network's function unchanged, read off its parameter graph.

Hidden neurons/channels of a layer can be reordered if every tensor indexed by them is reordered the same
way (the layer's weight rows and bias, its BatchNorm/LayerNorm parameters, the next layers' weight columns);
channels joined by a residual add must move together; attention dimensions move as whole heads (heads
permuted, and one permutation of the within-head dimensions shared by q, k, v and the output projection).
Inputs and outputs are fixed. This module draws such permutations and applies them to a state_dict; the
tests use it to check that featurizers are invariant to them (Hecht-Nielsen 1990; Navon et al. 2023,
"Equivariant Architectures for Learning in Deep Weight Spaces", https://arxiv.org/abs/2301.12780).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from fmsbench.weights.spec import Axis, GraphSpec


def random_node_permutation(spec: GraphSpec, generator: torch.Generator, *, inputs: bool = False) -> Tensor:
    """A node map ``source`` [N]: after permuting, node n holds what node ``source[n]`` held.

    With ``inputs=False`` every permutable group of hidden channels is shuffled (a symmetry). With
    ``inputs=True`` only the input channels are shuffled, which changes the network's function (the
    negative control of the invariance tests).
    """
    source = torch.arange(spec.num_nodes)
    if inputs:
        s = spec.sets[spec.input_set]
        source[s.nodes] = s.start + torch.randperm(s.size, generator=generator)
        return source
    for members in _classes(spec):
        if any(i in spec.fixed_sets for i in members):
            continue
        first = spec.sets[members[0]]
        if first.heads:
            heads, width = first.heads, first.size // first.heads
            head_order = torch.randperm(heads, generator=generator)
            within = torch.randperm(width, generator=generator)
            order = (head_order[:, None] * width + within[None, :]).reshape(-1)
            head_set = spec.sets[first.head_set]
            source[head_set.nodes] = head_set.start + head_order
        else:
            order = torch.randperm(first.size, generator=generator)
        for i in members:
            s = spec.sets[i]
            source[s.nodes] = s.start + order
    return source


def permute_state_dict(spec: GraphSpec, state_dict: Mapping[str, Tensor], source: Tensor) -> dict[str, Tensor]:
    """`state_dict` with every node-indexed axis reordered by the node map `source`."""
    out = dict(state_dict)
    for key, axes in spec.param_axes.items():
        value = state_dict[key]
        for dim, axis in enumerate(axes):
            if axis is not None:
                value = value.index_select(dim, _axis_order(axis, source, spec.num_nodes))
        out[key] = value
    return out


def _axis_order(axis: Axis, source: Tensor, num_nodes: int) -> Tensor:
    position = torch.full((num_nodes,), -1)
    position[axis.nodes] = torch.arange(len(axis.nodes))
    moved = position[source[axis.nodes]]
    if bool((moved < 0).any()):
        raise ValueError("a node permutation moves channels off a parameter axis; it is not a symmetry")
    channels = len(axis.nodes)
    blocks = torch.arange(axis.copies)[:, None] * channels + moved[None, :]
    return (blocks[:, :, None] * axis.per_node + torch.arange(axis.per_node)).reshape(-1)


def _classes(spec: GraphSpec) -> list[list[int]]:
    """Sets that must share one permutation (residual ties), as lists of set indices."""
    parent = list(range(len(spec.sets)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in spec.ties:
        parent[find(a)] = find(b)
    head_sets = {s.head_set for s in spec.sets if s.heads}
    groups: dict[int, list[int]] = {}
    for i in range(len(spec.sets)):
        if i not in head_sets:
            groups.setdefault(find(i), []).append(i)
    return list(groups.values())
