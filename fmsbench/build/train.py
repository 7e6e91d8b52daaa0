"""One training run on in-memory tensors, recording curves and (optionally) the weights after every epoch.

Curves hold METRICS per epoch 0..E. Epoch 0 is measured in eval mode before any step. For epochs >= 1 the
train loss/accuracy are running averages over the epoch's mini-batches (free to compute, as frameworks log
them); validation and test are full eval-mode passes. `seconds` is the wall time of the epoch's training
steps only, what an HPO method would pay for that epoch.

The device is the caller's explicit choice ("cpu" unless an executor gave the job a GPU). Data stay on the CPU
and move one batch at a time, and the batch order comes from a CPU generator, so a CPU run is the same
computation on any executor; a cuda run follows the same batches but is not bit-identical to a CPU run.
Dropout masks come from each config's own generator (`fmsbench.build.dropout`). `fmsbench.build.stacked` trains
many fine-tuning configs at once and gives the same curves and weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fmsbench.build.dropout import MaskSource, use_mask_dropout
from fmsbench.data import Splits, to_float
from fmsbench.hub.layout import flatten
from fmsbench.hub.store import METRICS

EVAL_BATCH = 128  # one-thread CPU forward passes are up to 4x slower per image at 256-1024 (cache misses); see git log
INITS = {
    "kaiming_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "kaiming_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "xavier_normal": nn.init.xavier_normal_,
    "xavier_uniform": nn.init.xavier_uniform_,
    "orthogonal": nn.init.orthogonal_,
}
OPTIMIZERS = {
    "sgd": lambda params, s: torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay),
    "adam": lambda params, s: torch.optim.Adam(params, lr=s.lr, weight_decay=s.weight_decay),
    "rmsprop": lambda params, s: torch.optim.RMSprop(params, lr=s.lr, weight_decay=s.weight_decay),
}


@dataclass(frozen=True)
class TrainSettings:
    """Everything that shapes one training run besides the model and data."""

    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    dropout: float
    seed: int
    init: str = "default"


@dataclass
class TrainResult:
    curves: np.ndarray  # [E+1, len(METRICS)]
    weights: np.ndarray | None  # [E+1, P] float32 when recorded
    images: int  # training images processed (for throughput)
    train_seconds: float
    eval_seconds: float  # the epoch-0 and held-out evaluations (build overhead, not charged to HPO methods)


def apply_init(model: nn.Module, scheme: str) -> None:
    """Re-initialise conv/linear weights (zoo diversity); 'default' keeps the architecture's own init."""
    if scheme == "default":
        return
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            INITS[scheme](module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def make_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    return OPTIMIZERS[settings.optimizer](model.parameters(), settings)


@torch.inference_mode()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             device: torch.device | str = "cpu") -> tuple[float, float]:
    """Mean cross-entropy and accuracy in eval mode; non-finite losses (diverged runs) are kept as they are."""
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(images), EVAL_BATCH):
        logits = model(to_float(images[start : start + EVAL_BATCH].to(device)))
        target = labels[start : start + EVAL_BATCH].to(device)
        loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
        correct += int((logits.argmax(1) == target).sum())
    return loss_sum / len(images), correct / len(images)


def train(model: nn.Module, data: Splits, settings: TrainSettings, record_weights: bool,
          device: torch.device | str = "cpu") -> TrainResult:
    """Train `model` (moved to `device`) for settings.epochs epochs with mini-batches drawn by a generator seeded
    from settings.seed."""
    model.to(device)
    generator = torch.Generator().manual_seed(settings.seed)
    dropout = use_mask_dropout(model)
    masks = MaskSource(settings.seed, settings.dropout, model.head.in_features)
    optimizer = make_optimizer(model, settings)
    curves = np.zeros((settings.epochs + 1, len(METRICS)), dtype=np.float32)
    weights = [flatten(model.state_dict())] if record_weights else []
    start = time.perf_counter()
    curves[0] = (*evaluate(model, data.train_x, data.train_y, device), *held_out(model, data, device), 0.0)
    n_train, images, total_seconds, eval_seconds = len(data.train_x), 0, 0.0, time.perf_counter() - start
    for epoch in range(1, settings.epochs + 1):
        model.train()
        order = torch.randperm(n_train, generator=generator)
        loss_sum, correct = torch.zeros((), device=device), torch.zeros((), dtype=torch.long, device=device)
        start = time.perf_counter()
        for first in range(0, n_train, settings.batch_size):
            batch = order[first : first + settings.batch_size]
            target = data.train_y[batch].to(device)
            dropout.mask = masks.next(len(batch)).to(device)
            logits = model(to_float(data.train_x[batch].to(device)))
            loss = F.cross_entropy(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(batch)
            correct += (logits.detach().argmax(1) == target).sum()
        train_loss, train_acc = loss_sum.item() / n_train, correct.item() / n_train  # .item() waits for cuda
        seconds = time.perf_counter() - start
        images += n_train
        total_seconds += seconds
        start = time.perf_counter()
        curves[epoch] = (train_loss, train_acc, *held_out(model, data, device), seconds)
        eval_seconds += time.perf_counter() - start
        if record_weights:
            weights.append(flatten(model.state_dict()))
    return TrainResult(curves, np.stack(weights) if record_weights else None, images, total_seconds, eval_seconds)


def held_out(model: nn.Module, data: Splits, device: torch.device | str) -> tuple[float, float, float, float]:
    return (*evaluate(model, data.val_x, data.val_y, device), *evaluate(model, data.test_x, data.test_y, device))
