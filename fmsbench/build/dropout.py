"""The config's dropout with masks from the config's own generator: the same masks whether it trains alone or in a
stack.

Every architecture ends in `head_drop`, an `nn.Dropout(dropout)` before the head (`fmsbench.models`). For
training, the trainers replace it by `MaskDropout`, whose mask they set before each training forward: one mask
[batch, features] per step, drawn from a generator seeded by (config seed, 1), where the data order uses a
generator seeded by the config seed alone. A config's run is thus a function of its own settings, not of the
configs it shares a stack with. A dropout of 0 draws nothing (the mask is all ones).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from fmsbench.models import HEAD_DROPOUT, head_dropout

MASK_STREAM = 1  # second entry of the seed sequence of the dropout generator; the data order uses the seed alone
MASK_BUFFER = f"{HEAD_DROPOUT}.mask"  # the mask's name in the model's buffers (for functional calls)


class MaskDropout(nn.Module):
    """Dropout whose mask (already scaled by 1 / (1 - p)) the trainer sets; identity in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mask", torch.ones(()), persistent=False)  # not part of any checkpoint

    def forward(self, x: Tensor) -> Tensor:
        return x * self.mask if self.training else x


def use_mask_dropout(model: nn.Module) -> MaskDropout:
    """Swap the model's head dropout for a `MaskDropout` (buffer `MASK_BUFFER`) and return it."""
    head_dropout(model)
    module = MaskDropout()
    setattr(model, HEAD_DROPOUT, module)
    return module


class MaskSource:
    """The dropout masks of one config, step after step.

    Args:
        seed: the config's seed.
        rate: its dropout probability p (0 <= p < 1).
        features: width of the layer the dropout acts on (the head's input).
    """

    def __init__(self, seed: int, rate: float, features: int) -> None:
        state = np.random.SeedSequence([seed, MASK_STREAM]).generate_state(1, np.uint64)[0]
        self.generator = torch.Generator().manual_seed(int(state))
        self.rate, self.features = rate, features

    def next(self, batch: int) -> Tensor:
        """The mask of the next training step, [batch, features], scaled so the expectation is 1."""
        if self.rate == 0:
            return torch.ones(batch, self.features)
        keep = torch.rand(batch, self.features, generator=self.generator) >= self.rate
        return keep.float() / (1.0 - self.rate)
