"""Neural functional (NFN) over the weights of one plain CNN/MLP architecture.

Implements an NP-style permutation-equivariant layer stack and invariant pooling after "Permutation Equivariant
Neural Functionals" (Zhou et al., NeurIPS 2023, https://arxiv.org/abs/2302.14040), as the NFN variant of FMS
("Improving Hyperparameter Optimization with Checkpointed Model Weights", Mehta et al. 2024,
https://arxiv.org/abs/2406.18630). Unlike the released FMS code, which built a fresh random NFN on every forward
call, this is one trained module whose parameters are registered.

The architecture must be a chain of Linear/Conv layers (activations, pooling, flatten and dropout between them;
no normalisation layers, residual joins or attention): that is what a weight space with one neuron
permutation per hidden layer means. The chain is read off the traced parameter graph, so any such module works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from fmsbench.weights.base import FEATURIZERS, OUT_DIM, WeightFeaturizer
from fmsbench.weights.errors import UnsupportedArchitectureError
from fmsbench.weights.spec import GraphSpec, LayerRecord
from fmsbench.weights.structure import ParameterGraph, parameter_graph, structural_signature


@dataclass(frozen=True)
class NFNInput:
    """One checkpoint in weight-space form: per layer ``weights[i]`` [n_i, n_{i-1}, c_i], ``biases[i]`` [n_i, 1]."""

    weights: tuple[Tensor, ...]
    biases: tuple[Tensor, ...]


def plain_chain(spec: GraphSpec) -> list[LayerRecord] | str:
    """The layers of a plain Linear/Conv chain, or a reason why `spec` is not one."""
    kinds = {w.kind for w in spec.writers} - {"bias"}
    if kinds:
        return f"per-channel {', '.join(sorted(kinds))} parameters (normalisation or embeddings)"
    if spec.fixed:
        return "residual/elementwise joins or attention heads"
    if any(layer.kind not in ("linear", "conv") for layer in spec.layers):
        return "attention"
    previous = spec.sets[spec.input_set].nodes
    for layer in spec.layers:
        if not torch.equal(layer.in_nodes, previous):
            return f"layer '{layer.module}' does not read the previous layer's outputs"
        previous = layer.out_nodes
    return spec.layers


class NPLayer(nn.Module):
    r"""One permutation-equivariant layer on the weight space of an L-layer chain.

    With :math:`W_i \in \mathbb{R}^{n_i \times n_{i-1} \times c}`, biases :math:`b_i \in \mathbb{R}^{n_i \times c}`,
    row means :math:`r_i = \mathrm{mean}_j W_i[j,\cdot]` (per input neuron), column means
    :math:`s_i = \mathrm{mean}_k W_i[\cdot,k]` (per output neuron) and :math:`t_i` the mean of :math:`W_i`:

    .. math::
        W'_i[j,k] &= \Theta_i\,[W_i[j,k],\, r_i[k],\, s_i[j],\, t_i,\, b_i[j],\, b_{i-1}[k],\, s_{i-1}[k],\,
            r_{i+1}[j]] \\
        b'_i[j] &= \Phi_i\,[b_i[j],\, \mathrm{mean}(b_i),\, s_i[j],\, t_i,\, r_{i+1}[j]]

    (terms of missing neighbour layers are zero). Each term is indexed only by neurons that the same
    permutation moves, so the layer commutes with every permutation of hidden neurons.

    Args:
        layers (int): number of weight layers L.
        in_channels (int): feature channels c in.
        out_channels (int): feature channels out.

    Shapes:
        - **input:** lists of L tensors :math:`(B, n_i, n_{i-1}, c)` and :math:`(B, n_i, c)`
        - **output:** the same with ``out_channels``
    """

    def __init__(self, layers: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.weight_maps = nn.ModuleList([nn.Linear(8 * in_channels, out_channels) for _ in range(layers)])
        self.bias_maps = nn.ModuleList([nn.Linear(5 * in_channels, out_channels) for _ in range(layers)])

    def forward(self, weights: list[Tensor], biases: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        rows = [w.mean(1) for w in weights]  # [B, n_{i-1}, c]
        cols = [w.mean(2) for w in weights]  # [B, n_i, c]
        totals = [w.mean((1, 2)) for w in weights]  # [B, c]
        new_w, new_b = [], []
        for i, (w, b) in enumerate(zip(weights, biases)):
            _, n_out, n_in, _ = w.shape
            zeros_in = w.new_zeros(w.shape[0], n_in, w.shape[-1])
            zeros_out = w.new_zeros(w.shape[0], n_out, w.shape[-1])
            prev_b = biases[i - 1] if i > 0 else zeros_in
            prev_s = cols[i - 1] if i > 0 else zeros_in
            next_r = rows[i + 1] if i + 1 < len(weights) else zeros_out
            per_in = torch.cat([rows[i], prev_b, prev_s], -1)[:, None].expand(-1, n_out, -1, -1)
            per_out = torch.cat([cols[i], b, next_r], -1)[:, :, None].expand(-1, -1, n_in, -1)
            total = totals[i][:, None, None].expand(-1, n_out, n_in, -1)
            new_w.append(self.weight_maps[i](torch.cat([w, per_in, per_out, total], -1)))
            bias_terms = [b, b.mean(1, keepdim=True).expand_as(b), cols[i], totals[i][:, None].expand_as(b), next_r]
            new_b.append(self.bias_maps[i](torch.cat(bias_terms, -1)))
        return new_w, new_b


class NFN(nn.Module):
    r"""Per-layer lift, a stack of `NPLayer` with ReLU, invariant mean pooling, MLP head.

    .. math::
        \mathbf{z} = \psi\big([\mathrm{mean}_{j,k} W^{(D)}_i[j,k],\; \mathrm{mean}_j b^{(D)}_i[j]]_{i=1}^{L}\big)

    Learned position embeddings are added to the input neurons of the first layer and the output neurons of
    the last (Zhou et al.'s IO encoding), since inputs and outputs are not interchangeable.

    Args:
        kernel_sizes (list[int]): feature channels of each layer's weights (kernel elements: 9 for 3x3, 1 for
            Linear).
        num_inputs (int): input channels of the first layer.
        num_outputs (int): outputs of the last layer.
        hidden (int, optional): feature channels of the equivariant layers. (default: :obj:`16`)
        depth (int, optional): number of equivariant layers. (default: :obj:`2`)
        out_dim (int, optional): output size. (default: :obj:`32`)

    Shapes:
        - **input:** lists of L tensors :math:`(B, n_i, n_{i-1}, c_i)` and :math:`(B, n_i, 1)`
        - **output:** :math:`(B, \text{out\_dim})`
    """

    def __init__(self, kernel_sizes: list[int], num_inputs: int, num_outputs: int, hidden: int = 16,
                 depth: int = 2, out_dim: int = OUT_DIM) -> None:
        super().__init__()
        self.weight_lifts = nn.ModuleList([nn.Linear(c, hidden) for c in kernel_sizes])
        self.bias_lifts = nn.ModuleList([nn.Linear(1, hidden) for _ in kernel_sizes])
        self.input_position = nn.Parameter(torch.randn(num_inputs, hidden))
        self.output_position = nn.Parameter(torch.randn(num_outputs, hidden))
        self.layers = nn.ModuleList([NPLayer(len(kernel_sizes), hidden, hidden) for _ in range(depth)])
        self.head = nn.Sequential(nn.Linear(2 * len(kernel_sizes) * hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, out_dim))

    def forward(self, weights: list[Tensor], biases: list[Tensor]) -> Tensor:
        w = [lift(x) for lift, x in zip(self.weight_lifts, weights)]
        b = [lift(x) for lift, x in zip(self.bias_lifts, biases)]
        w[0] = w[0] + self.input_position[None, None]
        w[-1] = w[-1] + self.output_position[None, :, None]
        b[-1] = b[-1] + self.output_position[None]
        for layer in self.layers:
            w, b = layer(w, b)
            w, b = [torch.relu(x) for x in w], [torch.relu(x) for x in b]
        pooled = [x.mean((1, 2)) for x in w] + [x.mean(1) for x in b]
        return self.head(torch.cat(pooled, -1))


@FEATURIZERS.register("nfn", summary="a neural-functional (NFN) embedding; hubs of one plain CNN/MLP architecture only",
                      one_architecture=True, advice="use fms-gmn or fms-flat instead")
class NFNFeaturizer(WeightFeaturizer):
    """Checkpoints of one plain CNN/MLP architecture -> weight-space tensors -> `NFN` -> 32-d.

    Args:
        example_modules (dict[str, nn.Module]): the hub's architectures; all must be the same plain chain
            (several ids of one architecture are fine), else `UnsupportedArchitectureError`.
        hidden (int, optional): NFN width. (default: :obj:`16`)
        depth (int, optional): number of equivariant layers. (default: :obj:`2`)
        out_dim (int, optional): output size. (default: :obj:`32`)
    """

    def __init__(self, example_modules: Mapping[str, nn.Module], *, hidden: int = 16, depth: int = 2,
                 out_dim: int = OUT_DIM) -> None:
        super().__init__(example_modules, out_dim)
        signatures = {arch: structural_signature(m) for arch, m in example_modules.items()}
        if len(set(signatures.values())) > 1:
            raise UnsupportedArchitectureError(
                "fms-nfn needs a hub of one plain CNN architecture; this hub has several: "
                f"{', '.join(sorted(signatures))}")
        arch, module = next(iter(example_modules.items()))
        self.graph: ParameterGraph = parameter_graph(module)
        chain = plain_chain(self.graph.spec)
        if isinstance(chain, str):
            raise UnsupportedArchitectureError(
                f"fms-nfn needs a hub of one plain CNN architecture; this hub has '{arch}' "
                f"({type(module).__name__}) with {chain}")
        self.chain = chain
        state = module.state_dict()
        kernel_sizes = [state[layer.weight_key][0].numel() // len(layer.in_nodes) for layer in chain]
        self.nfn = NFN(kernel_sizes, len(chain[0].in_nodes), len(chain[-1].out_nodes), hidden, depth, out_dim)

    def prepare(self, arch_id: str, state_dict: Mapping[str, Tensor]) -> NFNInput:
        self.check_arch(arch_id)
        sd = self.graph.checked(state_dict)
        weights = tuple(sd[layer.weight_key].reshape(len(layer.out_nodes), len(layer.in_nodes), -1)
                        for layer in self.chain)
        biases = tuple(sd[layer.bias_key].reshape(-1, 1) if layer.bias_key else torch.zeros(len(layer.out_nodes), 1)
                       for layer in self.chain)
        return NFNInput(weights, biases)

    def forward(self, prepared: list[NFNInput]) -> Tensor:
        device = self.nfn.input_position.device
        if not prepared:
            return torch.zeros(0, self.out_dim, device=device)
        weights = [torch.stack([p.weights[i] for p in prepared]).to(device) for i in range(len(self.chain))]
        biases = [torch.stack([p.biases[i] for p in prepared]).to(device) for i in range(len(self.chain))]
        return self.nfn(weights, biases)
