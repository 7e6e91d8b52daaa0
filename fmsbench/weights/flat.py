"""FLAT: a checkpoint's flattened parameters through a learned per-architecture projection.

The FLAT baseline of FMS ("Improving Hyperparameter Optimization with Checkpointed Model Weights", Mehta et al.
2024, https://arxiv.org/abs/2406.18630):

.. math:: \\mathbf{z} = W_2\\, \\mathrm{ReLU}(P_a\\, \\mathbf{w}_{S_a} + \\mathbf{c}_a) + \\mathbf{d}

where :math:`\\mathbf{w}` concatenates the architecture's parameters (not buffers) in ``named_parameters``
order, :math:`S_a` keeps at most ``max_inputs`` of them (evenly spaced indices, the same for every checkpoint
of architecture :math:`a`), :math:`P_a` is that architecture's own projection and :math:`W_2` is shared.

FLAT is NOT invariant to permutations of hidden neurons: permuting a network's channels leaves its function
unchanged but reorders :math:`\\mathbf{w}`, which changes :math:`\\mathbf{z}` (tested).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from fmsbench.weights.base import FEATURIZERS, OUT_DIM, WeightFeaturizer
from fmsbench.weights.errors import CheckpointMismatchError

DEFAULT_MAX_INPUTS = 16_384


@dataclass(frozen=True)
class FlatInput:
    """One checkpoint's (subsampled) flat parameter vector and its architecture."""

    arch_id: str
    vector: Tensor


@FEATURIZERS.register("flat", summary="flattened weights through a learned projection (FLAT; not permutation invariant)")
class FlatFeaturizer(WeightFeaturizer):
    """Flattened weights -> per-architecture Linear -> shared MLP -> 32-d (see the module docstring).

    Args:
        example_modules (dict[str, nn.Module]): one module per architecture id of the hub.
        hidden (int, optional): size of each projection's output. (default: :obj:`64`)
        out_dim (int, optional): output size. (default: :obj:`32`)
        max_inputs (int, optional): most parameters read per checkpoint. (default: :obj:`16384`)

    Shapes:
        - **input:** list of B `FlatInput`
        - **output:** :math:`(B, \\text{out\\_dim})`
    """

    def __init__(self, example_modules: Mapping[str, nn.Module], *, hidden: int = 64, out_dim: int = OUT_DIM,
                 max_inputs: int = DEFAULT_MAX_INPUTS) -> None:
        super().__init__(example_modules, out_dim)
        self.shapes = {arch: {k: tuple(p.shape) for k, p in m.named_parameters()} for arch, m in example_modules.items()}
        sizes = {arch: sum(torch.Size(s).numel() for s in shapes.values()) for arch, shapes in self.shapes.items()}
        self.indices = {arch: torch.linspace(0, n - 1, max_inputs).round().long() if n > max_inputs else None
                        for arch, n in sizes.items()}
        self.projections = nn.ModuleList([nn.Linear(min(sizes[arch], max_inputs), hidden) for arch in self.arch_ids])
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden, out_dim))

    def prepare(self, arch_id: str, state_dict: Mapping[str, Tensor]) -> FlatInput:
        self.check_arch(arch_id)
        parts = []
        for key, shape in self.shapes[arch_id].items():
            if key not in state_dict or tuple(state_dict[key].shape) != shape:
                found = tuple(state_dict[key].shape) if key in state_dict else "missing"
                raise CheckpointMismatchError(f"checkpoint '{key}' is {found}, expected shape {shape}")
            parts.append(state_dict[key].detach().reshape(-1).to(torch.float32))
        vector = torch.cat(parts)
        index = self.indices[arch_id]
        return FlatInput(arch_id, vector if index is None else vector[index])

    def forward(self, prepared: list[FlatInput]) -> Tensor:
        device = self.head[1].weight.device
        hidden = torch.zeros(len(prepared), self.projections[0].out_features, device=device)
        for a, arch in enumerate(self.arch_ids):
            rows = [i for i, p in enumerate(prepared) if p.arch_id == arch]
            if rows:
                inputs = torch.stack([prepared[i].vector for i in rows]).to(device)
                hidden[torch.tensor(rows, device=device)] = self.projections[a](inputs)
        return self.head(hidden)
