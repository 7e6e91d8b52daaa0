"""Functions that read one feature block from a checkpoint's state_dict (bound to keys with functools.partial).

Each is a few vectorised tensor ops; together they are all the per-checkpoint work of `ParameterGraph.fill`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from fmsbench.weights.features import to_grid
from fmsbench.weights.spec import StateDict


def linear_kernels(key: str, channels: int, grid: tuple[int, int], sd: StateDict) -> Tensor:
    """Linear weight [out, channels * h * w] -> [out, channels, 1] (centre slot) or, after a flatten, [.., 9]."""
    weight = sd[key]
    if grid == (1, 1):
        return weight.unsqueeze(-1)
    return to_grid(weight.reshape(weight.shape[0], channels, *grid))


def conv_kernels(key: str, sd: StateDict) -> Tensor:
    """Conv weight [out, in, (kh,) kw] -> [out, in, 1] for 1x1 kernels (centre slot), else [out, in, 9]."""
    weight = sd[key]
    if weight.dim() == 3:
        weight = weight.unsqueeze(2)
    if weight.shape[-2:] == (1, 1):
        return weight.flatten(2)
    return to_grid(weight)


def qkv_kernels(key: str, sd: StateDict) -> Tensor:
    """Fused q/k/v weight [3 * A, D] -> [A, D, 3]: one (q, k, v) triple per (input, attention dim) pair."""
    weight = sd[key]
    return weight.reshape(3, -1, weight.shape[-1]).permute(1, 2, 0)


def column(key: str, sd: StateDict) -> Tensor:
    """A per-channel vector (bias, LayerScale gamma, any broadcast [1, .., C] parameter) as [C, 1]."""
    return sd[key].reshape(-1, 1)


def qkv_bias(key: str, sd: StateDict) -> Tensor:
    """Fused q/k/v bias [3 * A] -> [A, 3]."""
    return sd[key].reshape(3, -1).T


def batchnorm_affine(prefix: str, eps: float, affine: bool, running: bool, channels: int, sd: StateDict) -> Tensor:
    """BatchNorm as the affine map it is at inference: [C, 2] = (scale, shift).

    .. math:: s = \\gamma / \\sqrt{\\sigma^2 + \\epsilon}, \\qquad t = \\beta - \\mu s

    (without running statistics :math:`s = \\gamma, t = \\beta`; without affine :math:`\\gamma = 1, \\beta = 0`).
    """
    gamma = sd[f"{prefix}weight"] if affine else torch.ones(channels)
    beta = sd[f"{prefix}bias"] if affine else torch.zeros(channels)
    if not running:
        return torch.stack([gamma, beta], dim=1)
    scale = gamma / torch.sqrt(sd[f"{prefix}running_var"] + eps)
    return torch.stack([scale, beta - sd[f"{prefix}running_mean"] * scale], dim=1)


def layernorm_affine(prefix: str, has_bias: bool, sd: StateDict) -> Tensor:
    """LayerNorm over channels: [C, 2] = (gamma, beta)."""
    gamma = sd[f"{prefix}weight"]
    beta = sd[f"{prefix}bias"] if has_bias else torch.zeros_like(gamma)
    return torch.stack([gamma, beta], dim=1)


def prefix_tokens(keys: tuple[str, ...], channel_dim: int, token_dim: int, sd: StateDict) -> Tensor:
    """Class/register token parameters concatenated before the patch tokens: their mean per channel, [C, 1]."""
    tokens = torch.cat([sd[k] for k in keys], dim=token_dim)
    return tokens.movedim(channel_dim, -1).reshape(-1, tokens.shape[channel_dim]).mean(0).unsqueeze(-1)


def position_embedding(key: str, channel_dim: int, token_dim: int, prefix: int, grid: tuple[int, int],
                       sd: StateDict) -> Tensor:
    """Position embedding [.., tokens, .., C] -> [C, 10]: prefix-token mean, then the patch grid as 3x3."""
    pos = sd[key].movedim((channel_dim, token_dim), (0, 1))
    pos = pos.reshape(pos.shape[0], pos.shape[1])
    head = pos[:, :prefix].mean(1, keepdim=True) if prefix else pos.new_zeros(pos.shape[0], 1)
    return torch.cat([head, to_grid(pos[:, prefix:].reshape(pos.shape[0], *grid))], dim=1)
