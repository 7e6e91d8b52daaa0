"""The architecture-level description of a parameter graph, as the builder leaves it.

A `GraphSpec` is everything about a parameter graph that does not depend on the weight values: the nodes and
their types, which state_dict entries fill which node slots (`NodeWriter`), which layer weights become
(input channel -> output channel) edges (`DenseEdges`), the edges whose features are constants (`FixedEdges`),
and, for the symmetry tools, which node groups must be permuted together and which parameter axes are
indexed by which nodes (`Axis`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor

StateDict = Mapping[str, Tensor]
Reader = Callable[[StateDict], Tensor]


@dataclass(frozen=True)
class ChannelSet:
    """Nodes ``start .. start + size - 1``, made by one producer (a layer, a join, the input).

    ``heads`` > 0 marks the dimension nodes of an attention layer, ordered (head, within-head dim), whose
    head nodes are the set ``head_set``.
    """

    start: int
    size: int
    heads: int = 0
    head_set: int = -1

    @property
    def nodes(self) -> Tensor:
        return torch.arange(self.start, self.start + self.size)


@dataclass(frozen=True)
class Axis:
    """One axis of a parameter tensor indexed by graph nodes.

    The axis has ``copies * len(nodes) * per_node`` entries ordered (copy, node, element): ``copies`` = 3 for
    a fused q/k/v projection, ``per_node`` > 1 for a Linear reading a flattened (channel, height, width) input.
    """

    nodes: Tensor
    per_node: int = 1
    copies: int = 1


@dataclass(frozen=True)
class NodeWriter:
    """Fills ``x[nodes, slots]`` with ``read(state_dict)`` of shape [len(nodes), width]."""

    kind: str  # "bias", "affine", "qkv_bias", "cls", "pos"
    nodes: Tensor
    slots: slice
    read: Reader


@dataclass(frozen=True)
class DenseEdges:
    """One edge per (input node, output node) pair of a layer; ``read`` gives kernels [out, in, width].

    The kernels land in edge slots ``slots``; ``weight_key`` names the weight tensor whose root mean square is
    the per-layer scale feature. ``sparsify`` allows keeping only the top-K incoming edges per output node.
    """

    out_nodes: Tensor
    in_nodes: Tensor
    edge_type: int
    slots: slice
    read: Reader
    weight_key: str
    fan_in: int
    sparsify: bool = True


@dataclass(frozen=True)
class FixedEdges:
    """Edges whose features do not depend on the checkpoint (identity joins, head membership)."""

    edge_index: Tensor  # [2, E]
    edge_type: int
    edge_attr: Tensor  # [E, EDGE_DIM]


@dataclass(frozen=True)
class LayerRecord:
    """A weight layer in trace order (used by the NFN, which needs a plain chain of them)."""

    kind: str  # "linear", "conv", "attention"
    module: str
    weight_key: str
    bias_key: str | None
    in_nodes: Tensor
    out_nodes: Tensor
    in_grid: tuple[int, int] = (1, 1)  # spatial elements per input node (Linear after a flatten)


@dataclass
class GraphSpec:
    """A whole parameter graph minus the weight values; see the module docstring."""

    input_shape: tuple[int, ...]
    node_type: Tensor  # [N] long, `NodeType`
    x0: Tensor  # [N, NODE_DIM] constant node features (input/output positions)
    writers: list[NodeWriter]
    dense: list[DenseEdges]
    fixed: list[FixedEdges]
    layers: list[LayerRecord]
    sets: list[ChannelSet]
    input_set: int
    ties: list[tuple[int, int]]  # sets that must be permuted identically (aligned by index)
    fixed_sets: set[int]  # sets no function-preserving permutation may touch (inputs, outputs, ...)
    param_axes: dict[str, tuple[Axis | None, ...]]
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # every state_dict entry read

    @property
    def num_nodes(self) -> int:
        return int(self.node_type.numel())
