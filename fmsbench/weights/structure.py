"""The cached parameter-graph structure of an architecture and the per-checkpoint fill.

`parameter_graph(module)` traces and builds an architecture's structure once (cached under a structural
signature of the module); `ParameterGraph.fill(state_dict)` then turns any checkpoint of that architecture
into a torch_geometric ``Data`` with a few vectorised ops per layer (no tracing, no Python loop over
edges). Features are laid out as in `fmsbench.weights.features`.

Size cap: a graph may have at most ``MAX_NODES`` = 50,000 nodes and, with the default of
``DEFAULT_MAX_FAN_IN`` = 16 incoming edges kept per node, at most ``MAX_EDGES`` = 1,000,000 edges before
ties; larger architectures raise `UnsupportedArchitectureError` (lower ``max_fan_in`` to fit).
Examples (random weights): timm resnet18 has 7,723 nodes and 122,947 edges; timm vit_tiny_patch16_224
21,967 nodes and 288,496 edges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from fmsbench.weights.builder import build_spec
from fmsbench.weights.errors import CheckpointMismatchError, UnsupportedArchitectureError
from fmsbench.weights.features import EDGE_DIM, EDGE_FAN_IN, EDGE_RMS
from fmsbench.weights.sparsify import top_k_incoming
from fmsbench.weights.spec import DenseEdges, GraphSpec

MAX_NODES = 50_000
MAX_EDGES = 1_000_000
DEFAULT_MAX_FAN_IN = 16


class ParameterGraph:
    """An architecture's parameter graph with the weights left out; `fill` puts a checkpoint's weights in.

    Args:
        spec (GraphSpec): the traced description of the architecture (`build_spec`).
        max_fan_in (int, optional): incoming edges kept per node of a layer whose fan-in (in channels) is
            larger; ties at the threshold are all kept (see `top_k_incoming`). (default: :obj:`16`)

    Shapes of the filled ``Data``:
        - **x:** node features :math:`(|\\mathcal{V}|, 21)`; **node_type:** :math:`(|\\mathcal{V}|)`
        - **edge_index:** :math:`(2, |\\mathcal{E}|)`; **edge_attr:** :math:`(|\\mathcal{E}|, 14)`;
          **edge_type:** :math:`(|\\mathcal{E}|)`
    """

    def __init__(self, spec: GraphSpec, max_fan_in: int = DEFAULT_MAX_FAN_IN) -> None:
        self.spec = spec
        self.max_fan_in = max_fan_in
        self.num_nodes = spec.num_nodes
        self.max_edges = sum(f.edge_index.shape[1] for f in spec.fixed) + sum(
            len(d.out_nodes) * (min(len(d.in_nodes), max_fan_in) if d.sparsify else len(d.in_nodes))
            for d in spec.dense)
        if self.num_nodes > MAX_NODES or self.max_edges > MAX_EDGES:
            raise UnsupportedArchitectureError(
                f"parameter graph too large: {self.num_nodes} nodes / {self.max_edges} edges "
                f"(caps {MAX_NODES} / {MAX_EDGES}); lower max_fan_in (now {max_fan_in})")
        fixed = spec.fixed
        self._fixed_index = torch.cat([f.edge_index for f in fixed], 1) if fixed else torch.zeros(2, 0, dtype=torch.long)
        self._fixed_attr = torch.cat([f.edge_attr for f in fixed]) if fixed else torch.zeros(0, EDGE_DIM)
        self._fixed_type = torch.cat([torch.full((f.edge_index.shape[1],), f.edge_type) for f in fixed]) \
            if fixed else torch.zeros(0, dtype=torch.long)
        self._full = [self._all_pairs(d) for d in spec.dense]

    def _all_pairs(self, dense: DenseEdges) -> tuple[Tensor, Tensor] | None:
        """Precomputed (source, target) of a block that is never sparsified."""
        if dense.sparsify and len(dense.in_nodes) > self.max_fan_in:
            return None
        out, inp = len(dense.out_nodes), len(dense.in_nodes)
        return dense.in_nodes.repeat(out), dense.out_nodes.repeat_interleave(inp)

    def fill(self, state_dict: Mapping[str, Tensor]) -> Data:
        """A checkpoint's parameter graph; `state_dict` must hold this architecture's entries (any float dtype)."""
        sd = self.checked(state_dict)
        x = self.spec.x0.clone()
        for writer in self.spec.writers:
            x[writer.nodes, writer.slots] = writer.read(sd)
        index, attr, kind = [self._fixed_index], [self._fixed_attr], [self._fixed_type]
        for dense, pairs in zip(self.spec.dense, self._full):
            kernels = dense.read(sd)
            if pairs is None:
                out, inp = top_k_incoming(kernels.norm(dim=-1), self.max_fan_in).nonzero(as_tuple=True)
                kernels = kernels[out, inp]
                pairs = dense.in_nodes[inp], dense.out_nodes[out]
            else:
                kernels = kernels.reshape(-1, kernels.shape[-1])
            rms = sd[dense.weight_key].double().square().mean().sqrt().clamp_min(1e-8).float()  # order-free
            edge_attr = kernels.new_zeros(len(kernels), EDGE_DIM)
            edge_attr[:, dense.slots] = kernels / rms
            edge_attr[:, EDGE_RMS] = rms.log()
            edge_attr[:, EDGE_FAN_IN] = dense.fan_in ** -0.5
            index.append(torch.stack(pairs))
            attr.append(edge_attr)
            kind.append(torch.full((len(kernels),), dense.edge_type))
        return Data(x=x, edge_index=torch.cat(index, 1), edge_attr=torch.cat(attr), node_type=self.spec.node_type,
                    edge_type=torch.cat(kind), num_nodes=self.num_nodes)

    def checked(self, state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """The entries this graph reads, as float32, after checking that they exist and have the right shapes."""
        sd = {}
        for key, shape in self.spec.shapes.items():
            if key not in state_dict:
                raise CheckpointMismatchError(f"checkpoint has no '{key}' (expected shape {shape})")
            value = state_dict[key]
            if tuple(value.shape) != shape:
                raise CheckpointMismatchError(f"checkpoint '{key}' has shape {tuple(value.shape)}, expected {shape}")
            sd[key] = value.detach().to(torch.float32)
        return sd


def structural_signature(module: nn.Module, input_shape: Sequence[int] | None = None) -> str:
    """A hash of what fixes a module's parameter graph: module types, their plain attributes, state shapes.

    Two instances of one architecture (any weights, any train/eval mode) share the signature.
    """
    digest = hashlib.sha1(repr(None if input_shape is None else tuple(input_shape)).encode())
    for name, m in module.named_modules():
        attrs = sorted((k, repr(v)) for k, v in vars(m).items() if not k.startswith("_") and k != "training"
                       and isinstance(v, (int, float, bool, str, tuple, type(None))))
        digest.update(f"{name}|{type(m).__module__}.{type(m).__qualname__}|{attrs}\n".encode())
    for key, value in module.state_dict().items():
        digest.update(f"{key}|{tuple(value.shape)}\n".encode())
    return digest.hexdigest()


@dataclass
class StructureCache:
    """Structures by (signature, max_fan_in); `hits` / `misses` count lookups."""

    hits: int = 0
    misses: int = 0

    def __post_init__(self) -> None:
        self._graphs: dict[tuple[str, int], ParameterGraph] = {}

    def get(self, module: nn.Module, input_shape: Sequence[int] | None, max_fan_in: int) -> ParameterGraph:
        key = (structural_signature(module, input_shape), max_fan_in)
        if key in self._graphs:
            self.hits += 1
        else:
            self.misses += 1
            self._graphs[key] = ParameterGraph(build_spec(module, input_shape), max_fan_in)
        return self._graphs[key]

    def clear(self) -> None:
        self._graphs.clear()
        self.hits = self.misses = 0


STRUCTURES = StructureCache()


def parameter_graph(module: nn.Module, *, input_shape: Sequence[int] | None = None,
                    max_fan_in: int = DEFAULT_MAX_FAN_IN) -> ParameterGraph:
    """The (cached) parameter-graph structure of `module`'s architecture; `input_shape` excludes the batch."""
    return STRUCTURES.get(module, input_shape, max_fan_in)
