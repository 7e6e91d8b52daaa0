"""Many fine-tuning configs of one architecture trained at once: stacked parameters through one functional model.

A GPU runs a tiny model one step at a time about as fast as one CPU thread: every step is a handful of small
kernels. Training S configs together makes each kernel S times larger. `train_stack` keeps the S configs'
parameters as one flat leaf tensor [S, P] (so SGD is one fused update over the stack) and their buffers
(BatchNorm statistics) stacked [S, ...], and runs `torch.func.functional_call` under `torch.func.vmap`: each
config sees its own weights, its own mini-batch (its data order comes from its own seed), its own dropout masks
(`fmsbench.build.dropout`) and updates its own BatchNorm statistics. Evaluation is stacked the same way.

Each config keeps its own learning rate, momentum, weight decay, dropout, seed, data order and BatchNorm
statistics; the stack shares the architecture, the data, the batch size and the number of epochs. The result
is `train`'s (`fmsbench.build.train`) for every config up to float rounding (tests compare them). SGD with
momentum, as fine-tuning uses; other optimisers train one model at a time.

Shapes: a step of a stack of S configs at batch size B feeds x [S, B, C, H, W] and gets logits [S, B, classes].
"""

from __future__ import annotations

import copy
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from fmsbench.build.dropout import MASK_BUFFER, MaskSource, use_mask_dropout
from fmsbench.build.train import EVAL_BATCH, TrainResult, TrainSettings
from fmsbench.data import Splits, to_float
from fmsbench.hub.store import METRICS

Params = dict[str, Tensor]


class StackedModel:
    """S same-architecture modules as one functional model: flat parameters [S, P], stacked buffers.

    Args:
        models: the S modules (same architecture, any weights), each at its initial state.
        device: where parameters, buffers and the computation live.
    """

    def __init__(self, models: list[nn.Module], device: torch.device | str) -> None:
        self.size = len(models)
        self.template = copy.deepcopy(models[0])
        use_mask_dropout(self.template)
        for module in self.template.modules():
            if getattr(module, "fused_attn", False):  # timm's fused attention kernel has no vmap batching rule:
                module.fused_attn = False  # vmap would loop over the stack; the math path batches
        self.template.to("meta")
        params, buffers = stack_module_state(models)
        self.names = list(params)
        self.shapes = [tuple(params[name].shape[1:]) for name in self.names]
        self.flat = torch.cat([params[n].detach().reshape(self.size, -1) for n in self.names], 1).to(device)
        self.flat.requires_grad_(True)
        self.buffers = {name: value.to(device) for name, value in buffers.items()}
        self.state_names = list(models[0].state_dict())

    def params(self) -> Params:
        """Views of the flat parameters under their module names, [S, ...] each (gradients reach `flat`)."""
        views, offset = {}, 0
        for name, shape in zip(self.names, self.shapes, strict=True):
            size = int(np.prod(shape))
            views[name] = self.flat[:, offset : offset + size].view(self.size, *shape)
            offset += size
        return views

    def logits(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Forward of every config: x [S, B, ...] (or one shared [B, ...] batch), mask [S, B, F] in training."""
        self.template.train(mask is not None)

        def forward(params: Params, buffers: Params, mask: Tensor | None, x: Tensor) -> Tensor:
            extra = {} if mask is None else {MASK_BUFFER: mask}
            return functional_call(self.template, (params, {**buffers, **extra}), (x,))

        shared = x.dim() == 4 and mask is None
        return vmap(forward, in_dims=(0, 0, None if mask is None else 0, None if shared else 0))(
            self.params(), self.buffers, mask, x)

    def state_vectors(self) -> np.ndarray:
        """Every config's state_dict flattened in its own order (what a hub stores), float32 [S, state size]."""
        params = self.params()
        parts = [(params[name] if name in params else self.buffers[name]).detach() for name in self.state_names]
        return torch.cat([p.reshape(self.size, -1).float() for p in parts], 1).cpu().numpy()


class StackedSGD:
    """SGD with momentum and weight decay (torch.optim.SGD's update, dampening 0) as one fused update of a
    flat [S, P] parameter, each row with its own learning rate, momentum and weight decay."""

    def __init__(self, flat: Tensor, settings: list[TrainSettings]) -> None:
        column = lambda values: torch.tensor(values, dtype=flat.dtype, device=flat.device)[:, None]  # noqa: E731
        self.flat = flat
        self.lr = column([s.lr for s in settings])
        self.momentum = column([s.momentum for s in settings])
        self.weight_decay = column([s.weight_decay for s in settings])
        self.buffer: Tensor | None = None

    @torch.no_grad()
    def step(self) -> None:
        grad = self.flat.grad.add_(self.flat * self.weight_decay)
        if self.buffer is None:
            self.buffer = grad.clone()
        else:
            self.buffer.mul_(self.momentum).add_(grad)
        self.flat.sub_(self.lr * self.buffer)
        self.flat.grad = None


def check_stackable(settings: list[TrainSettings]) -> None:
    """A stack shares its optimiser (SGD), batch size and epochs; everything else may differ."""
    first = settings[0]
    if any(s.optimizer != "sgd" for s in settings):
        raise ValueError("stacked training is SGD with momentum; train other optimisers one model at a time")
    if any((s.batch_size, s.epochs) != (first.batch_size, first.epochs) for s in settings):
        raise ValueError("a stack must share its batch size and number of epochs")


@torch.no_grad()
def evaluate_stack(model: StackedModel, images: Tensor, labels: Tensor,
                   device: torch.device | str) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy of every config ([S] each), in eval mode, on one shared set."""
    loss_sum = torch.zeros(model.size, device=device)
    correct = torch.zeros(model.size, dtype=torch.long, device=device)
    for start in range(0, len(images), EVAL_BATCH):
        target = labels[start : start + EVAL_BATCH].to(device)
        logits = model.logits(to_float(images[start : start + EVAL_BATCH].to(device)))
        loss_sum += F.cross_entropy(logits.flatten(0, 1), target.repeat(model.size), reduction="none") \
            .view(model.size, -1).sum(1)
        correct += (logits.argmax(-1) == target).sum(1)
    return (loss_sum / len(images)).cpu().numpy(), (correct / len(images)).cpu().numpy()


MEMORY_MARGIN = 0.8  # share of a GPU's free memory a stack may plan to use
_CAPACITY: dict[tuple, int] = {}  # per process: measured stack capacity per (architecture, batch, image shape)


def stack_capacity(model: nn.Module, data: Splits, settings: TrainSettings, device: torch.device | str) -> int:
    """How many configs like `model` (at `settings`' batch size) fit in one stack in the GPU's free memory:
    one training step and one evaluation batch are measured at stack sizes 1 and 2, the difference is a
    config's share. No limit on a CPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return sys.maxsize
    key = (type(model).__name__, sum(p.numel() for p in model.parameters()), settings.batch_size,
           tuple(data.train_x.shape[1:]), str(device))
    if key not in _CAPACITY:
        one, two = (_peak_bytes(model, data, settings.batch_size, device, size) for size in (1, 2))
        per_config = max(two - one, 1)
        dataset = data.train_x.numel() + 8 * data.train_y.numel()  # train_stack keeps the training set there
        fixed = max(one - per_config, 0) + dataset
        _CAPACITY[key] = max(1, int((torch.cuda.mem_get_info(device)[0] * MEMORY_MARGIN - fixed) // per_config))
    return _CAPACITY[key]


def _peak_bytes(model: nn.Module, data: Splits, batch: int, device: torch.device, size: int) -> int:
    """Peak GPU memory of a training step (with SGD's momentum buffer) and an evaluation batch of `size` copies."""
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    stacked = StackedModel([model] * size, device)
    x = to_float(data.train_x[:batch].to(device)).expand(size, -1, -1, -1, -1)
    mask = torch.ones(size, x.shape[1], model.head.in_features, device=device)
    stacked.logits(x, mask).logsumexp(-1).sum().backward()
    with torch.no_grad():
        stacked.logits(to_float(data.val_x[:EVAL_BATCH].to(device)))
    peak = torch.cuda.max_memory_allocated(device) - before + 4 * stacked.flat.numel()  # + the momentum buffer
    del stacked
    return peak


def train_stack(models: list[nn.Module], data: Splits, settings: list[TrainSettings], record_weights: bool,
                device: torch.device | str = "cpu") -> list[TrainResult]:
    """Train `models[i]` with `settings[i]` for every i at once; one `TrainResult` per config, as `train` gives.

    The wall time of each epoch's steps (and of the evaluations) is shared equally among the stack's configs.
    """
    check_stackable(settings)
    stack, first = len(models), settings[0]
    model = StackedModel(models, device)
    optimizer = StackedSGD(model.flat, settings)
    orders = [torch.Generator().manual_seed(s.seed) for s in settings]
    masks = [MaskSource(s.seed, s.dropout, models[0].head.in_features) for s in settings]
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)  # uint8 images: small enough to move once
    curves = np.zeros((stack, first.epochs + 1, len(METRICS)), dtype=np.float32)
    weights = [model.state_vectors()] if record_weights else []
    start = time.perf_counter()
    curves[:, 0, :2] = np.stack(evaluate_stack(model, train_x, train_y, device), 1)
    curves[:, 0, 2:6] = _held_out(model, data, device)
    n_train, eval_seconds, train_seconds = len(train_x), time.perf_counter() - start, 0.0
    for epoch in range(1, first.epochs + 1):
        order = torch.stack([torch.randperm(n_train, generator=g) for g in orders]).to(device)
        loss_sum = torch.zeros(stack, device=device)
        correct = torch.zeros(stack, dtype=torch.long, device=device)
        start = time.perf_counter()
        for begin in range(0, n_train, first.batch_size):
            batch = order[:, begin : begin + first.batch_size]
            target = train_y[batch]
            mask = torch.stack([source.next(batch.shape[1]) for source in masks]).to(device)
            logits = model.logits(to_float(train_x[batch]), mask)
            losses = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none").view(stack, -1).mean(1)
            losses.sum().backward()  # each config's loss depends on its own rows of `flat` only
            optimizer.step()
            loss_sum += losses.detach() * batch.shape[1]
            correct += (logits.detach().argmax(-1) == target).sum(1)
        curves[:, epoch, 0] = (loss_sum / n_train).cpu().numpy()  # .cpu() waits for cuda
        curves[:, epoch, 1] = (correct / n_train).cpu().numpy()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        start = time.perf_counter()
        curves[:, epoch, 2:6] = _held_out(model, data, device)
        curves[:, epoch, METRICS.index("seconds")] = seconds / stack
        eval_seconds += time.perf_counter() - start
        if record_weights:
            weights.append(model.state_vectors())
    stacked_weights = np.stack(weights, 1) if record_weights else None
    return [TrainResult(curves[i], None if stacked_weights is None else stacked_weights[i], n_train * first.epochs,
                        train_seconds / stack, eval_seconds / stack) for i in range(stack)]


def _held_out(model: StackedModel, data: Splits, device: torch.device | str) -> np.ndarray:
    """[S, 4]: val loss, val acc, test loss, test acc."""
    return np.stack([*evaluate_stack(model, data.val_x, data.val_y, device),
                     *evaluate_stack(model, data.test_x, data.test_y, device)], 1)
