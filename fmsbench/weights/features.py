"""The one place that fixes the layout of parameter-graph features and the node and edge type ids.

Node features (``Data.x``, ``NODE_DIM`` columns):

==============  =========  ==================================================================
slots           name       filled from
==============  =========  ==================================================================
0               bias       bias of the Linear/Conv producing the node
1, 2, 3         qkv_bias   query, key and value bias of an attention dimension node
4, 5            affine     scale and shift of a per-channel affine map: BatchNorm (running
                           statistics folded in), LayerNorm gamma/beta, LayerScale, bias adds
6               cls        class/prefix token value (mean over prefix tokens)
7               pos_cls    position embedding of the prefix tokens (mean)
8 .. 16         pos_grid   position embedding of the patch tokens, as a grid pooled/padded to 3x3
17 .. 20        io_pos     position of an input or output channel: (p, cos(pi p), cos(2 pi p),
                           cos(4 pi p)) with p = index / (count - 1); zero on hidden nodes
==============  =========  ==================================================================

Edge features (``Data.edge_attr``, ``EDGE_DIM`` columns):

==============  =========  ==================================================================
0 .. 8          kernel     the (input, output) kernel divided by the layer's rms, 3x3 row-major; a
                           Linear weight or 1x1 kernel sits in the centre (slot 4), kernels up to
                           3x3 are zero-padded around the centre, larger ones adaptive-average-pooled
9, 10, 11       qkv        query, key and value weight of one (input, attention dim) pair / rms
12              log_rms    per-layer scale: log of the root mean square of the layer's whole weight
                           tensor (rms clamped at 1e-8)
13              fan_in     per-layer scale: 1 / sqrt(fan_in) of the layer
==============  =========  ==================================================================

Identity edges (residual adds, re-affine copies) carry +1 or -1 in slot 4 (-1 for a subtracted operand).
"""

from __future__ import annotations

import enum
import math

import torch

NODE_BIAS = 0
NODE_QKV_BIAS = slice(1, 4)
NODE_SCALE = 4
NODE_SHIFT = 5
NODE_AFFINE = slice(4, 6)
NODE_CLS = 6
NODE_POS = slice(7, 17)
NODE_IO_POS = slice(17, 21)
NODE_DIM = 21

EDGE_KERNEL = slice(0, 9)
EDGE_CENTRE = 4
EDGE_QKV = slice(9, 12)
EDGE_RMS = 12  # log rms
EDGE_FAN_IN = 13
EDGE_DIM = 14

KERNEL_SIZE = 3  # kernels are mapped to KERNEL_SIZE x KERNEL_SIZE


class NodeType(enum.IntEnum):
    INPUT = 0
    HIDDEN = 1  # a Linear/Conv output neuron or channel
    OUTPUT = 2
    JOIN = 3  # a residual add / product / re-affine copy of channels
    ATTENTION = 4  # one (head, within-head) dimension of an attention layer
    HEAD = 5  # one attention head, joined to its dimension nodes


class EdgeType(enum.IntEnum):
    LINEAR = 0
    CONV = 1
    QKV = 2
    IDENTITY = 3  # operand -> residual-add node (or copy before a second affine map)
    PRODUCT = 4  # operand -> elementwise-product node
    HEAD = 5  # attention dimension -> its head node


def io_position(count: int) -> torch.Tensor:
    """Position features of `count` input (or output) channels, shape [count, 4] (see the module table)."""
    p = torch.arange(count, dtype=torch.float32) / max(count - 1, 1)
    return torch.stack([p, torch.cos(math.pi * p), torch.cos(2 * math.pi * p), torch.cos(4 * math.pi * p)], dim=1)


def to_grid(values: torch.Tensor) -> torch.Tensor:
    """Map kernels [..., h, w] to [..., 9]: zero-pad around the centre up to 3x3, adaptive-average-pool beyond.

    Each spatial axis is treated on its own: an axis of length <= 3 is padded (the extra zero going to the
    end when the padding is odd), a longer axis is pooled to 3 bins. Linear in `values`, so it commutes with
    any permutation of the leading axes.
    """
    *lead, h, w = values.shape
    flat = values.reshape(-1, 1, h, w)
    if h > KERNEL_SIZE or w > KERNEL_SIZE:
        flat = torch.nn.functional.adaptive_avg_pool2d(flat, (min(h, KERNEL_SIZE), min(w, KERNEL_SIZE)))
        h, w = flat.shape[-2:]
    top, left = (KERNEL_SIZE - h) // 2, (KERNEL_SIZE - w) // 2
    flat = torch.nn.functional.pad(flat, (left, KERNEL_SIZE - w - left, top, KERNEL_SIZE - h - top))
    return flat.reshape(*lead, KERNEL_SIZE * KERNEL_SIZE)
