"""Trace a module with torch.fx and record every value's shape, for the parameter-graph builder.

Tracing uses a ``torch.fx.Tracer`` that keeps the modules the builder understands as leaves (plus timm's
registered no-trace modules and functions), fixes every forward argument after the first to its default
(``attn_mask=None``, ...), and runs the traced graph once on a zero input under ``torch.no_grad`` in eval mode
(the module's train/eval flags are restored) so that each fx node producing a tensor carries its output shape
in ``node.meta["shape"]`` (batch size 2 included).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.fx as fx
from timm.layers import get_notrace_functions, get_notrace_modules
from torch import nn

from fmsbench.weights.errors import UnsupportedArchitectureError

# Spatial sizes tried, in order, when a module's input size cannot be read from the module itself.
FALLBACK_IMAGE_SIZES = (32, 16, 8, 28, 64, 224)


@dataclass(frozen=True)
class Traced:
    """A traced module: its fx graph (nodes carry ``meta["shape"]``) and the input shape used (no batch)."""

    graph: fx.Graph
    input_shape: tuple[int, ...]


class _LeafTracer(fx.Tracer):
    def __init__(self, is_leaf: Callable[[nn.Module], bool]) -> None:
        super().__init__(autowrap_functions=tuple(f for f in get_notrace_functions() if callable(f)))
        self._is_leaf = is_leaf
        self._timm_leaves = tuple(get_notrace_modules())

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (self._is_leaf(m) or isinstance(m, self._timm_leaves)
                or super().is_leaf_module(m, module_qualified_name))


def trace(module: nn.Module, is_leaf: Callable[[nn.Module], bool],
          input_shape: Sequence[int] | None = None) -> Traced:
    """Trace `module`; `input_shape` (without batch) is inferred when None (see `candidate_input_shapes`)."""
    concrete = _default_arguments(module)
    try:
        graph = _LeafTracer(is_leaf).trace(module, concrete_args=concrete)
    except Exception as exc:  # fx raises many kinds (TraceError, TypeError, ...): name the module
        raise UnsupportedArchitectureError(
            f"cannot trace {type(module).__name__} with torch.fx ({type(exc).__name__}: {exc})") from exc
    graph_module = fx.GraphModule(module, graph)
    shapes = [tuple(input_shape)] if input_shape is not None else candidate_input_shapes(module, graph)
    errors = []
    for shape in shapes:
        try:
            _propagate_shapes(module, graph_module, shape, concrete)
        except Exception as exc:  # a wrong guess of the input size fails inside the module's own code
            errors.append(f"{shape}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        return Traced(graph, shape)
    raise UnsupportedArchitectureError(
        f"cannot run {type(module).__name__} on any input shape tried ({'; '.join(errors)}); "
        "pass input_shape explicitly")


def candidate_input_shapes(module: nn.Module, graph: fx.Graph) -> list[tuple[int, ...]]:
    """Input shapes to try: the module's own image size if it states one, then common sizes.

    The channel count comes from the first Linear/Conv in the traced graph; the image size from
    ``pretrained_cfg["input_size"]`` (timm) or an ``img_size`` attribute of a submodule (timm PatchEmbed). A
    Linear that reads the input directly makes a flat vector input the first guess.
    """
    first = next((module.get_submodule(n.target) for n in graph.nodes if n.op == "call_module"
                  and isinstance(module.get_submodule(n.target), (nn.Linear, nn.Conv1d, nn.Conv2d))), None)
    if first is None:
        raise UnsupportedArchitectureError(f"{type(module).__name__} has no Linear or Conv layer to featurize")
    channels = first.in_features if isinstance(first, nn.Linear) else first.in_channels
    stated = [tuple(cfg["input_size"]) for cfg in [getattr(module, "pretrained_cfg", None)] if cfg and "input_size" in cfg]
    stated += [(channels, *_pair(m.img_size)) for m in module.modules() if getattr(m, "img_size", None) is not None]
    images = stated + [(channels, s, s) for s in FALLBACK_IMAGE_SIZES]
    placeholder = next(n for n in graph.nodes if n.op == "placeholder")
    reads_input = any(n.op == "call_module" and n.args and n.args[0] is placeholder
                      and isinstance(module.get_submodule(n.target), nn.Linear) for n in graph.nodes)
    vectors = [(channels,)]
    return vectors + images if reads_input else images + vectors


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _default_arguments(module: nn.Module) -> dict[str, object]:
    params = list(inspect.signature(module.forward).parameters.values())[1:]
    missing = [p.name for p in params if p.default is inspect.Parameter.empty
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if missing:
        raise UnsupportedArchitectureError(
            f"{type(module).__name__}.forward needs more than one input ({', '.join(missing)}); "
            "only single-input modules can be featurized")
    return {p.name: p.default for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _propagate_shapes(module: nn.Module, graph_module: fx.GraphModule, shape: tuple[int, ...],
                      concrete: dict[str, object]) -> None:
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        with torch.no_grad():
            _ShapeRecorder(graph_module).run(torch.zeros(2, *shape), *concrete.values())
    finally:
        for m, training in modes.items():
            m.training = training


class _ShapeRecorder(fx.Interpreter):
    """Runs a graph module and stores each tensor result's shape in ``node.meta["shape"]``."""

    def run_node(self, n: fx.Node) -> object:
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            n.meta["shape"] = tuple(result.shape)
        return result
