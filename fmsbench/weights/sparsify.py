"""Deterministic, permutation-invariant sparsification of dense edge blocks."""

from __future__ import annotations

import torch
from torch import Tensor


def top_k_incoming(norms: Tensor, k: int) -> Tensor:
    """Mask of the edges kept when each output node keeps its `k` strongest incoming edges.

    `norms` is [out, in] (edge-feature norms of one layer). A row keeps every entry whose norm is at least the
    row's k-th largest norm, so tied edges are all kept or all dropped: which edges survive depends only on the
    values, never on the order of the inputs, and a permutation of inputs or outputs permutes the mask the
    same way. A row may therefore keep more than `k` edges when norms tie (e.g. an all-zero row keeps all).

    Shapes:
        - **input:** norms :math:`(O, I)`
        - **output:** boolean mask :math:`(O, I)`
    """
    if norms.shape[1] <= k:
        return torch.ones_like(norms, dtype=torch.bool)
    kth = norms.topk(k, dim=1).values[:, -1:]
    return norms >= kth
