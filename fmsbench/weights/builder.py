"""Build a `GraphSpec` from any module by following channels through its torch.fx graph.

The parameter graph follows "Graph Metanetworks for Processing Diverse Neural Architectures" (Lim et al.,
ICLR 2024, https://arxiv.org/abs/2312.04501) as used by FMS ("Improving Hyperparameter Optimization with
Checkpointed Model Weights", Mehta et al. 2024, https://arxiv.org/abs/2406.18630): a node per input channel,
hidden neuron/channel and output, and an edge per (input channel, output channel) pair of each weight layer.

Every traced value is described by where its channels live (`Chan`: which tensor dimension holds channels
and which graph node each channel is). The walk visits the fx nodes in order:

- the first input: ``C`` input nodes (channel dimension 1: ``[B, C]`` or ``[B, C, H, W]``);
- Linear / Conv1d / Conv2d (groups = 1): new nodes, one dense edge block (kernels as in `features`), bias
  as a node feature; a Linear after a flatten of ``[B, C, H, W]`` gets one edge per (channel, output) whose
  kernel is the ``H x W`` block of weights;
- BatchNorm (running statistics folded), LayerNorm over channels, LayerScale-like ``x * gamma`` and
  ``x + beta``: per-node scale/shift features (a second affine map on the same nodes first copies them to
  new nodes through identity edges);
- self-attention modules with a fused ``qkv`` Linear, ``proj`` Linear and ``num_heads`` (timm Attention):
  one node per (head, head dim) and one per head; each (input, dim) edge carries (q, k, v); q/k/v biases
  are node features; ``proj`` is a Linear from the dimension nodes;
- ``x + y`` / ``x - y`` / ``x * y`` of two different channel sets (residual adds, gates): new nodes with
  identity (or product) edges from both operands;
- class/register tokens concatenated before the tokens and position embeddings added to them: node
  features of the channels (the patch grid pooled to 3x3);
- activations, dropout, pooling, flatten/reshape/transpose/permute, means/sums over non-channel axes
  (global average pooling, DeepSets mean pooling), indexing of non-channel axes: the same nodes.

Anything else that touches channels raises `UnsupportedArchitectureError` naming the op and its module.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten

from fmsbench.weights import readers
from fmsbench.weights.errors import UnsupportedArchitectureError
from fmsbench.weights.features import (
    EDGE_CENTRE,
    EDGE_DIM,
    EDGE_KERNEL,
    EDGE_QKV,
    NODE_AFFINE,
    NODE_BIAS,
    NODE_CLS,
    NODE_DIM,
    NODE_IO_POS,
    NODE_POS,
    NODE_QKV_BIAS,
    NODE_SCALE,
    NODE_SHIFT,
    EdgeType,
    NodeType,
    io_position,
)
from fmsbench.weights.spec import (
    Axis,
    ChannelSet,
    DenseEdges,
    FixedEdges,
    GraphSpec,
    LayerRecord,
    NodeWriter,
    Reader,
)
from fmsbench.weights.trace import trace

_ELEMENTWISE_MODULES = (nn.Identity, nn.modules.dropout._DropoutNd, nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU,
                        nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.Softplus, nn.Mish,
                        nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.PReLU, nn.Softmax, nn.LogSoftmax)
_POOL_MODULES = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
                 nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)
_SHAPE_MODULES = (nn.Flatten, nn.Unflatten)
_MODULES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.modules.batchnorm._BatchNorm, nn.LayerNorm,
            nn.modules.instancenorm._InstanceNorm,
            *_ELEMENTWISE_MODULES, *_POOL_MODULES, *_SHAPE_MODULES)

_ELEMENTWISE_FUNCTIONS = {F.relu, F.relu6, F.gelu, F.silu, F.elu, F.leaky_relu, F.hardswish, F.hardsigmoid,
                          F.mish, F.softplus, F.dropout, F.softmax, F.log_softmax, torch.relu, torch.sigmoid,
                          torch.tanh, torch.exp, torch.clone, torch.nn.functional.sigmoid}
_ELEMENTWISE_METHODS = {"relu", "relu_", "sigmoid", "tanh", "gelu", "exp", "softmax", "log_softmax", "contiguous",
                        "clone", "detach", "float", "to", "type_as", "expand", "sigmoid_"}
_POOL_FUNCTIONS = {F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d, F.avg_pool1d,
                   F.avg_pool2d, F.max_pool1d, F.max_pool2d}
_SHAPE_FUNCTIONS = {torch.flatten, torch.reshape, torch.unsqueeze, torch.squeeze}
_SHAPE_METHODS = {"flatten", "view", "reshape", "unsqueeze", "squeeze"}
_TRANSPOSES = {torch.transpose, torch.permute, torch.swapaxes, "transpose", "permute", "swapaxes"}
_REDUCTIONS = {torch.mean, torch.sum, torch.amax, "mean", "sum", "amax"}
_ADDS = {operator.add, operator.iadd, torch.add, "add", "add_"}
_SUBS = {operator.sub, operator.isub, torch.sub, "sub", "sub_"}
_MULS = {operator.mul, operator.imul, torch.mul, "mul", "mul_"}
_CATS = {torch.cat, torch.concat}
_OPAQUE = {getattr, "size", "dim", "numel"}  # results that carry no channels (shapes, sizes)
_PARAM_PASSTHROUGH = {"expand", "contiguous", "to", "type_as", "clone", "detach", "float"}


def is_leaf(module: nn.Module) -> bool:
    """Modules the builder handles whole (fx does not trace into them)."""
    return isinstance(module, _MODULES) or is_attention(module)


def is_attention(module: nn.Module) -> bool:
    """Self-attention with a fused ``qkv`` Linear, a ``proj`` Linear and ``num_heads`` (e.g. timm Attention)."""
    return (isinstance(getattr(module, "qkv", None), nn.Linear) and isinstance(getattr(module, "proj", None), nn.Linear)
            and isinstance(getattr(module, "num_heads", None), int))


def build_spec(module: nn.Module, input_shape: Sequence[int] | None = None) -> GraphSpec:
    """Trace `module` and describe its parameter graph; `input_shape` (no batch) is inferred when None."""
    traced = trace(module, is_leaf, input_shape)
    return _Builder(module, traced.input_shape).run(traced.graph)


@dataclass(frozen=True)
class Tokens:
    """A token axis: ``prefix`` class/register tokens, then the patches of a ``grid`` in row-major order."""

    dim: int
    prefix: int
    grid: tuple[int, int]


@dataclass(frozen=True)
class Chan:
    """Where a traced tensor keeps its channels: dimension ``dim``, channel i being graph node ``nodes[i]``.

    ``grid`` != (1, 1) when that dimension is a flattened (channel, height, width) block: each node then
    covers ``grid[0] * grid[1]`` consecutive entries.
    """

    dim: int
    nodes: Tensor
    grid: tuple[int, int] = (1, 1)
    tokens: Tokens | None = None


@dataclass(frozen=True)
class Param:
    """A tensor that is a state_dict entry as it is (a ``get_attr``, possibly expanded)."""

    key: str


class Derived:
    """A tensor computed from parameters in a way the builder does not follow."""


Value = Chan | Param | Derived | None


class _Builder:
    def __init__(self, module: nn.Module, input_shape: tuple[int, ...]) -> None:
        self.module = module
        self.input_shape = input_shape
        self.state = module.state_dict()
        self.values: dict[fx.Node, Value] = {}
        self.sets: list[ChannelSet] = []
        self.types: list[Tensor] = []
        self.used: list[int] = []  # per node: bitmask of node-feature slots already written
        self.constants: list[tuple[Tensor, slice, Tensor]] = []
        self.writers: list[NodeWriter] = []
        self.dense: list[DenseEdges] = []
        self.fixed: list[FixedEdges] = []
        self.layers: list[LayerRecord] = []
        self.ties: list[tuple[int, int]] = []
        self.fixed_sets: set[int] = set()
        self.param_axes: dict[str, tuple[Axis | None, ...]] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.input_set = -1
        self.node: fx.Node | None = None  # the fx node being visited, for error messages

    # ------------------------------------------------------------------ walk
    def run(self, graph: fx.Graph) -> GraphSpec:
        for node in graph.nodes:
            self.node = node
            self.values[node] = self._visit(node)
        node_type = torch.cat(self.types)
        x0 = torch.zeros(len(node_type), NODE_DIM)
        for nodes, slots, values in self.constants:
            x0[nodes, slots] = values
        return GraphSpec(self.input_shape, node_type, x0, self.writers, self.dense, self.fixed, self.layers,
                         self.sets, self.input_set, self.ties, self.fixed_sets, self.param_axes, self.shapes)

    def _visit(self, node: fx.Node) -> Value:
        if node.op == "placeholder":
            return self._input(node) if self.input_set < 0 else None
        if node.op == "get_attr":
            return Param(node.target) if node.target in self.state else Derived()
        if node.op == "output":
            self._outputs(node)
            return None
        if node.op == "call_module":
            return self._call_module(node, self.module.get_submodule(node.target))
        return self._call(node, node.target)

    def _input(self, node: fx.Node) -> Chan:
        channels = self.input_shape[0]
        nodes = self._new_set(channels, NodeType.INPUT)
        self.input_set = len(self.sets) - 1
        self.fixed_sets.add(self.input_set)
        self.constants.append((nodes, NODE_IO_POS, io_position(channels)))
        return Chan(1, nodes)

    def _outputs(self, node: fx.Node) -> None:
        leaves, _ = tree_flatten(node.args)
        for chan in (self.values[n] for n in leaves if isinstance(n, fx.Node)):
            if not isinstance(chan, Chan):
                continue
            nodes = chan.nodes
            for i, s in enumerate(self.sets):
                if bool(((nodes >= s.start) & (nodes < s.start + s.size)).any()):
                    self.fixed_sets.add(i)
            self._set_type(nodes, NodeType.OUTPUT)
            self.constants.append((nodes, NODE_IO_POS, io_position(len(nodes))))

    # ------------------------------------------------------------------ helpers
    def _shape(self, node: fx.Node) -> tuple[int, ...]:
        return node.meta["shape"]

    def _unsupported(self, what: str) -> UnsupportedArchitectureError:
        stack = self.node.meta.get("nn_module_stack") or {}
        where = next(reversed(stack.values()))[0] if stack else "<root>"
        where = where if isinstance(where, str) else type(self.module).__name__
        return UnsupportedArchitectureError(
            f"cannot build a parameter graph of {type(self.module).__name__}: {what} "
            f"(fx node '{self.node.name}' in module '{where}')")

    def _new_set(self, size: int, kind: NodeType, heads: int = 0, head_set: int = -1) -> Tensor:
        start = sum(s.size for s in self.sets)
        self.sets.append(ChannelSet(start, size, heads, head_set))
        self.types.append(torch.full((size,), int(kind)))
        self.used.extend([0] * size)
        return torch.arange(start, start + size)

    def _set_type(self, nodes: Tensor, kind: NodeType) -> None:
        flat = torch.cat(self.types)
        flat[nodes] = int(kind)
        self.types = [flat]

    def _set_index(self, nodes: Tensor) -> int:
        """The set whose nodes are exactly `nodes` in order, or -1."""
        start = int(nodes[0])
        for i, s in enumerate(self.sets):
            if s.start == start and s.size == len(nodes):
                return i
        return -1

    def _tie(self, a: Tensor, b: Tensor) -> None:
        ia, ib = self._set_index(a), self._set_index(b)
        if ia >= 0 and ib >= 0:
            self.ties.append((ia, ib))
            return
        for nodes in (a, b):  # a join of concatenated channels: keep those channels out of permutations
            for i, s in enumerate(self.sets):
                if bool(((nodes >= s.start) & (nodes < s.start + s.size)).any()):
                    self.fixed_sets.add(i)

    def _axis(self, key: str, *axes: Axis | None) -> None:
        self.param_axes.setdefault(key, axes)
        self._read_key(key)

    def _read_key(self, key: str) -> None:
        if key not in self.state:
            raise self._unsupported(f"parameter '{key}' is not in the state_dict")
        self.shapes[key] = tuple(self.state[key].shape)

    def _write(self, chan: Chan, kind: str, slots: slice, read: Reader) -> Chan:
        """Write node features; copies the channels to new nodes first if those slots are taken."""
        mask = sum(1 << s for s in range(slots.start, slots.stop))
        if any(self.used[n] & mask for n in chan.nodes.tolist()):
            chan = self._join([(chan.nodes, 1.0)], EdgeType.IDENTITY, chan)
        for n in chan.nodes.tolist():
            self.used[n] |= mask
        self.writers.append(NodeWriter(kind, chan.nodes, slots, read))
        return chan

    def _join(self, operands: list[tuple[Tensor, float]], kind: EdgeType, like: Chan) -> Chan:
        """New nodes fed one-to-one by each operand's nodes through constant edges (weight +1 or -1)."""
        size = len(like.nodes)
        nodes = self._new_set(size, NodeType.JOIN)
        for source, sign in operands:
            attr = torch.zeros(size, EDGE_DIM)
            attr[:, EDGE_CENTRE] = sign
            self.fixed.append(FixedEdges(torch.stack([source, nodes]), int(kind), attr))
            self._tie(source, nodes)
        return replace(like, nodes=nodes)

    def _dense(self, kind: str, module: str, in_chan: Chan, out_size: int, edge_type: EdgeType,
               read: Reader, slots: slice, weight_key: str, fan_in: int, bias_key: str | None,
               node_type: NodeType = NodeType.HIDDEN) -> Tensor:
        out_nodes = self._new_set(out_size, node_type)
        self.dense.append(DenseEdges(out_nodes, in_chan.nodes, int(edge_type), slots, read, weight_key, fan_in))
        self.layers.append(LayerRecord(kind, module, weight_key, bias_key, in_chan.nodes, out_nodes, in_chan.grid))
        if bias_key is not None:
            self._write(Chan(0, out_nodes), "bias", slice(NODE_BIAS, NODE_BIAS + 1), partial(readers.column, bias_key))
            self._axis(bias_key, Axis(out_nodes))
        return out_nodes

    # ------------------------------------------------------------------ modules
    def _call_module(self, node: fx.Node, module: nn.Module) -> Value:
        x = self.values[node.args[0]] if node.args else None
        if not isinstance(x, Chan):
            if any(isinstance(self.values.get(n), Chan) for n in node.all_input_nodes):
                raise self._unsupported(f"{type(module).__name__} reads channels through a keyword argument")
            return Derived() if isinstance(x, (Param, Derived)) else None
        prefix = f"{node.target}."
        rank = len(self._shape(node.args[0]))
        if is_attention(module):
            return self._attention(node, module, x, prefix, rank)
        if isinstance(module, nn.Linear):
            if x.dim != rank - 1:
                raise self._unsupported("a Linear applied to a non-channel axis")
            read = partial(readers.linear_kernels, f"{prefix}weight", len(x.nodes), x.grid)
            slots = EDGE_KERNEL if x.grid != (1, 1) else slice(EDGE_CENTRE, EDGE_CENTRE + 1)
            bias = f"{prefix}bias" if module.bias is not None else None
            out = self._dense("linear", node.target, x, module.out_features, EdgeType.LINEAR, read, slots,
                              f"{prefix}weight", module.in_features, bias)
            self._axis(f"{prefix}weight", Axis(out), Axis(x.nodes, per_node=x.grid[0] * x.grid[1]))
            return Chan(x.dim, out, tokens=x.tokens)
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            if module.groups != 1:
                raise self._unsupported(f"grouped convolution (groups={module.groups})")
            if x.dim != 1 or x.grid != (1, 1):
                raise self._unsupported("a convolution whose input channels are not on axis 1")
            kernel = module.weight.shape[2:]
            centre = all(k == 1 for k in kernel)
            slots = slice(EDGE_CENTRE, EDGE_CENTRE + 1) if centre else EDGE_KERNEL
            bias = f"{prefix}bias" if module.bias is not None else None
            out = self._dense("conv", node.target, x, module.out_channels, EdgeType.CONV,
                              partial(readers.conv_kernels, f"{prefix}weight"), slots, f"{prefix}weight",
                              module.in_channels * math.prod(kernel), bias)
            self._axis(f"{prefix}weight", Axis(out), Axis(x.nodes), *([None] * len(kernel)))
            return Chan(1, out)
        if isinstance(module, nn.modules.instancenorm._InstanceNorm):
            if module.affine or module.track_running_stats or x.dim != 1:
                raise self._unsupported("an InstanceNorm with parameters, running statistics or channels off axis 1")
            return x  # each channel standardised over the other axes: a parameter-free map of the channel
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if x.dim != 1 or x.grid != (1, 1):
                raise self._unsupported("a BatchNorm whose channels are not on axis 1")
            running = module.track_running_stats and module.running_mean is not None
            keys = (["weight", "bias"] if module.affine else []) + (["running_mean", "running_var"] if running else [])
            for key in keys:
                self._axis(prefix + key, Axis(x.nodes))
            if not keys:
                return x
            read = partial(readers.batchnorm_affine, prefix, module.eps, module.affine, running, len(x.nodes))
            return self._write(x, "affine", NODE_AFFINE, read)
        if isinstance(module, nn.LayerNorm):
            if tuple(module.normalized_shape) != (len(x.nodes),) or x.dim != rank - 1:
                raise self._unsupported(f"a LayerNorm over {tuple(module.normalized_shape)}, not over channels")
            if not module.elementwise_affine:
                return x
            has_bias = module.bias is not None
            for key in ["weight", "bias"] if has_bias else ["weight"]:
                self._axis(prefix + key, Axis(x.nodes))
            return self._write(x, "affine", NODE_AFFINE, partial(readers.layernorm_affine, prefix, has_bias))
        if isinstance(module, _ELEMENTWISE_MODULES):
            if isinstance(module, nn.PReLU) and module.num_parameters != 1:
                raise self._unsupported("PReLU with one slope per channel")
            return x
        if isinstance(module, _POOL_MODULES):
            return self._pool(x)
        if isinstance(module, _SHAPE_MODULES):
            return self._reshape(x, self._shape(node.args[0]), self._shape(node))
        raise self._unsupported(f"module type {type(module).__name__}")

    def _attention(self, node: fx.Node, module: nn.Module, x: Chan, prefix: str, rank: int) -> Chan:
        for name in ("q_norm", "k_norm", "norm"):
            if not isinstance(getattr(module, name, None), (nn.Identity, type(None))):
                raise self._unsupported(f"attention with a {name} layer")
        if getattr(module, "gate", None) is not None:
            raise self._unsupported("gated attention")
        if x.dim != rank - 1:
            raise self._unsupported("attention over a non-channel axis")
        heads = module.num_heads
        width = module.qkv.out_features // 3
        head_nodes = self._new_set(heads, NodeType.HEAD)
        head_set = len(self.sets) - 1
        qkv_key, proj_key = f"{prefix}qkv.weight", f"{prefix}proj.weight"
        dims = self._new_set(width, NodeType.ATTENTION, heads=heads, head_set=head_set)
        self.dense.append(DenseEdges(dims, x.nodes, int(EdgeType.QKV), EDGE_QKV,
                                     partial(readers.qkv_kernels, qkv_key), qkv_key, module.qkv.in_features))
        self._axis(qkv_key, Axis(dims, copies=3), Axis(x.nodes))
        membership = torch.stack([dims, head_nodes.repeat_interleave(width // heads)])
        self.fixed.append(FixedEdges(membership, int(EdgeType.HEAD), torch.zeros(width, EDGE_DIM)))
        if module.qkv.bias is not None:
            self._write(Chan(0, dims), "qkv_bias", NODE_QKV_BIAS, partial(readers.qkv_bias, f"{prefix}qkv.bias"))
            self._axis(f"{prefix}qkv.bias", Axis(dims, copies=3))
        self.layers.append(LayerRecord("attention", node.target, qkv_key, None, x.nodes, dims))
        bias = f"{prefix}proj.bias" if module.proj.bias is not None else None
        out = self._dense("linear", f"{node.target}.proj", Chan(0, dims), module.proj.out_features,
                          EdgeType.LINEAR, partial(readers.linear_kernels, proj_key, width, (1, 1)),
                          slice(EDGE_CENTRE, EDGE_CENTRE + 1), proj_key, width, bias)
        self._axis(proj_key, Axis(out), Axis(dims))
        return Chan(x.dim, out, tokens=x.tokens)

    # ------------------------------------------------------------------ functions and methods
    def _call(self, node: fx.Node, target: Callable | str) -> Value:
        inputs = [self.values.get(n) for n in node.all_input_nodes]
        if not any(isinstance(v, (Chan, Param, Derived)) for v in inputs):
            return None
        first = self.values.get(node.args[0]) if node.args and isinstance(node.args[0], fx.Node) else None
        if target in _OPAQUE:
            return None
        if not any(isinstance(v, Chan) for v in inputs):
            if isinstance(first, Param) and target in _PARAM_PASSTHROUGH:
                return first
            return Derived()
        if target in _ADDS or target in _SUBS or target in _MULS:
            return self._binary(node, target)
        if target in _CATS:
            return self._cat(node)
        if not isinstance(first, Chan):
            raise self._unsupported(f"'{_name(target)}' with channels in a later argument")
        if len([v for v in inputs if isinstance(v, (Chan, Param, Derived))]) > 1:
            raise self._unsupported(f"'{_name(target)}' combining channels with another tensor")
        if target in _ELEMENTWISE_FUNCTIONS or target in _ELEMENTWISE_METHODS:
            rank_change = len(self._shape(node)) - len(self._shape(node.args[0]))
            return replace(first, dim=first.dim + rank_change, tokens=None) if rank_change else first
        if target in _POOL_FUNCTIONS:
            return self._pool(first)
        if target in _SHAPE_FUNCTIONS or target in _SHAPE_METHODS:
            return self._reshape(first, self._shape(node.args[0]), self._shape(node))
        if target in _TRANSPOSES:
            return self._transpose(node, first)
        if target in _REDUCTIONS:
            return self._reduce(node, first)
        if target is operator.getitem:
            return self._getitem(node, first)
        raise self._unsupported(f"operation '{_name(target)}' on channels")

    def _pool(self, x: Chan) -> Chan:
        if x.dim != 1 or x.grid != (1, 1):
            raise self._unsupported("spatial pooling whose channels are not on axis 1")
        return Chan(1, x.nodes)

    def _reshape(self, x: Chan, before: tuple[int, ...], after: tuple[int, ...]) -> Chan:
        """Follow the channel axis through a reshape: kept whole, or merged with the spatial axes after it."""
        outer = math.prod(before[:x.dim])
        trailing = before[x.dim + 1:]
        size = before[x.dim]
        for k in range(len(after)):
            if math.prod(after[:k]) != outer:
                continue
            if after[k] == size:
                tokens = None
                if before == after:
                    tokens = x.tokens
                elif len(trailing) >= 2 and after[k + 1:] == (math.prod(trailing),):
                    tokens = Tokens(k + 1, 0, (math.prod(trailing[:-1]), trailing[-1]))
                return Chan(k, x.nodes, x.grid, tokens)
            if after[k] == size * math.prod(trailing) and x.grid == (1, 1) and trailing:
                grid = (math.prod(trailing[:-1]), trailing[-1])
                return Chan(k, x.nodes, grid)
        raise self._unsupported(f"a reshape {before} -> {after} that splits or mixes channels")

    def _transpose(self, node: fx.Node, x: Chan) -> Chan:
        rank = len(self._shape(node))
        args = [a for a in node.args[1:]] + list(node.kwargs.values())
        if node.target in (torch.permute, "permute"):
            order = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
            order = [d % rank for d in order]
            move = {old: new for new, old in enumerate(order)}
        else:
            a, b = (int(d) % rank for d in args[:2])
            move = {a: b, b: a}
        dim = move.get(x.dim, x.dim)
        tokens = replace(x.tokens, dim=move.get(x.tokens.dim, x.tokens.dim)) if x.tokens else None
        return replace(x, dim=dim, tokens=tokens)

    def _reduce(self, node: fx.Node, x: Chan) -> Chan:
        rank = len(self._shape(node.args[0]))
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        if dims is None:
            raise self._unsupported(f"'{_name(node.target)}' over all axes, channels included")
        dims = {int(d) % rank for d in ([dims] if isinstance(dims, int) else dims)}
        if x.dim in dims:
            raise self._unsupported(f"'{_name(node.target)}' over the channel axis")
        keepdim = bool(node.kwargs.get("keepdim", node.args[2] if len(node.args) > 2 else False))
        shift = 0 if keepdim else sum(1 for d in dims if d < x.dim)
        tokens = x.tokens if x.tokens is not None and x.tokens.dim not in dims and keepdim else None
        return replace(x, dim=x.dim - shift, tokens=tokens)

    def _getitem(self, node: fx.Node, x: Chan) -> Chan:
        index = node.args[1] if isinstance(node.args[1], tuple) else (node.args[1],)
        rank = len(self._shape(node.args[0]))
        if Ellipsis in index:
            at = index.index(Ellipsis)
            fill = rank - (len(index) - 1 - sum(1 for i in index if i is None))
            index = index[:at] + (slice(None),) * fill + index[at + 1:]
        dim_in, dim_out, new_dim, tokens = 0, 0, None, None
        for item in index:
            if item is None:
                dim_out += 1
                continue
            if dim_in == x.dim:
                if item != slice(None):
                    raise self._unsupported("indexing the channel axis")
                new_dim = dim_out
            if x.tokens is not None and dim_in == x.tokens.dim and isinstance(item, slice):
                tokens = _sliced_tokens(x.tokens, item, dim_out)
            dim_out += 0 if isinstance(item, int) else 1
            dim_in += 1
        if new_dim is None:
            new_dim = x.dim - dim_in + dim_out
        if x.tokens is not None and x.tokens.dim >= dim_in:
            tokens = replace(x.tokens, dim=x.tokens.dim - dim_in + dim_out)
        return replace(x, dim=new_dim, tokens=tokens)

    def _binary(self, node: fx.Node, target: Callable | str) -> Chan:
        a, b = node.args[0], node.args[1] if len(node.args) > 1 else node.kwargs.get("other")
        va = self.values.get(a) if isinstance(a, fx.Node) else None
        vb = self.values.get(b) if isinstance(b, fx.Node) else None
        out_rank = len(self._shape(node))
        if isinstance(va, Chan) and isinstance(vb, Chan):
            ra, rb = len(self._shape(a)), len(self._shape(b))
            if ra - va.dim != rb - vb.dim or va.grid != vb.grid or len(va.nodes) != len(vb.nodes):
                raise self._unsupported(f"'{_name(target)}' of tensors whose channel axes do not line up")
            like = replace(va, dim=out_rank - (ra - va.dim), tokens=va.tokens if va.tokens == vb.tokens else None)
            if torch.equal(va.nodes, vb.nodes):
                return like
            kind = EdgeType.PRODUCT if target in _MULS else EdgeType.IDENTITY
            return self._join([(va.nodes, 1.0), (vb.nodes, -1.0 if target in _SUBS else 1.0)], kind, like)
        chan, chan_node, other = (va, a, vb) if isinstance(va, Chan) else (vb, b, va)
        like = replace(chan, dim=chan.dim + out_rank - len(self._shape(chan_node)))
        if other is None:
            return like  # a Python number or a tensor computed from shapes
        if isinstance(other, Derived):
            raise self._unsupported(f"'{_name(target)}' of channels with a tensor computed from parameters")
        if target in _SUBS:
            raise self._unsupported("subtracting a parameter from channels")
        return self._param_operand(like, out_rank, other.key, scale=target in _MULS)

    def _param_operand(self, x: Chan, rank: int, key: str, scale: bool) -> Chan:
        """``x * gamma`` / ``x + beta`` with a per-channel parameter, or ``x + pos_embed`` over tokens."""
        self._read_key(key)
        shape = (1,) * (rank - self.state[key].dim()) + tuple(self.state[key].shape)
        offset = rank - self.state[key].dim()
        if shape[x.dim] != len(x.nodes) or x.grid != (1, 1):
            raise self._unsupported(f"parameter '{key}' {tuple(self.state[key].shape)} does not align with channels")
        wide = [d for d, n in enumerate(shape) if n > 1 and d != x.dim]
        axes = [None] * self.state[key].dim()
        axes[x.dim - offset] = Axis(x.nodes)
        self.param_axes.setdefault(key, tuple(axes))
        if not wide:
            slot = NODE_SCALE if scale else NODE_SHIFT
            return self._write(x, "affine", slice(slot, slot + 1), partial(readers.column, key))
        if scale or x.tokens is None or wide != [x.tokens.dim]:
            raise self._unsupported(f"parameter '{key}' {tuple(self.state[key].shape)} varies along a non-token axis")
        tokens = x.tokens
        read = partial(readers.position_embedding, key, x.dim - offset, tokens.dim - offset, tokens.prefix, tokens.grid)
        return self._write(x, "pos", NODE_POS, read)

    def _cat(self, node: fx.Node) -> Chan:
        parts = list(node.args[0])
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        rank = len(self._shape(node))
        dim %= rank
        values = [self.values.get(p) for p in parts]
        chans = [v for v in values if isinstance(v, Chan)]
        if all(isinstance(v, Chan) for v in values) and all(c.dim == dim for c in chans):
            if any(c.grid != (1, 1) for c in chans):
                raise self._unsupported("concatenating flattened channel blocks")
            return Chan(dim, torch.cat([c.nodes for c in chans]))
        first = chans[0]
        if any(c.dim != first.dim or not torch.equal(c.nodes, first.nodes) for c in chans) or first.dim == dim:
            raise self._unsupported("concatenating different channel sets along a non-channel axis")
        if len(chans) > 1 or any(not isinstance(v, (Chan, Param)) for v in values):
            raise self._unsupported("concatenation along tokens of anything but parameters before the tokens")
        at = values.index(first)
        keys = tuple(v.key for v in values[:at])
        if values[at + 1:] or not keys:
            raise self._unsupported("concatenating parameters after the tokens")
        for key in keys:
            self._read_key(key)
            axes = [None] * rank
            axes[first.dim] = Axis(first.nodes)
            self.param_axes.setdefault(key, tuple(axes))
        prefix = sum(self.state[k].shape[dim] for k in keys)
        if first.tokens is not None and first.tokens.dim == dim:
            tokens = Tokens(dim, first.tokens.prefix + prefix, first.tokens.grid)
        else:
            tokens = Tokens(dim, prefix, (1, self._shape(node)[dim] - prefix))
        chan = replace(first, tokens=tokens)
        return self._write(chan, "cls", slice(NODE_CLS, NODE_CLS + 1),
                           partial(readers.prefix_tokens, keys, first.dim, dim))


def _sliced_tokens(tokens: Tokens, item: slice, dim: int) -> Tokens | None:
    if item == slice(None):
        return replace(tokens, dim=dim)
    if item.start == tokens.prefix and item.stop is None and item.step is None:
        return Tokens(dim, 0, tokens.grid)
    return None


def _name(target: Callable | str) -> str:
    return target if isinstance(target, str) else getattr(target, "__name__", repr(target))
