"""What a build will cost, before building: jobs, training images and a projected wall time.

The recipe is planned as `build_hub` would (fine-tuning configs grouped into the stacks it would train), and a
few training steps and evaluation batches of each (architecture, batch size, stack) group are timed on the
chosen device on random tensors of the recipe's shapes, so no dataset needs to be on disk (dataset sizes come
from the dataset registry). The projection assumes the measured rates hold for the whole build and that jobs
spread evenly over the workers; it leaves out dataset preparation, files and process start-up.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from fmsbench.build.plan import PretrainJob, make_plan, stack_jobs
from fmsbench.build.recipe import Recipe
from fmsbench.build.stacked import StackedModel, StackedSGD
from fmsbench.build.train import EVAL_BATCH, TrainSettings, make_optimizer
from fmsbench.data import DatasetSpec, split_sizes
from fmsbench.executors.base import resolve_devices, single_thread
from fmsbench.models import build_model

TIMED_STEPS = 5
TIMED_SECONDS = 2.0  # fewer steps for slow groups: a paper-scale recipe has dozens of groups
GPU_STACK = 64  # stack assumed on a GPU when none is given (the build measures what fits)


@dataclass(frozen=True)
class GroupEstimate:
    """One group of jobs that train alike: the pretraining of one model, or the fine-tuning configs of one
    architecture at one batch size (trained `stack` at a time)."""

    phase: str
    arch_id: str
    batch_size: int
    jobs: int
    stack: int
    train_images: int
    eval_images: int
    train_rate: float  # measured training images/s (all configs of a stack together)
    eval_rate: float  # measured evaluation images/s

    @property
    def seconds(self) -> float:
        return self.train_images / self.train_rate + self.eval_images / self.eval_rate


@dataclass(frozen=True)
class BuildEstimate:
    recipe: str
    device: str
    workers: int
    groups: list[GroupEstimate]

    @property
    def jobs(self) -> int:
        return sum(group.jobs for group in self.groups)

    @property
    def train_images(self) -> int:
        return sum(group.train_images for group in self.groups)

    @property
    def wall_seconds(self) -> float:
        """Pretraining, then fine-tuning, each phase spread over the workers (a phase lasts at least its longest
        job)."""
        total = 0.0
        for phase in ("pretrain", "finetune"):
            groups = [g for g in self.groups if g.phase == phase]
            if groups:
                longest = max(g.seconds / g.jobs * min(g.stack, g.jobs) for g in groups)
                total += max(sum(g.seconds for g in groups) / self.workers, longest)
        return total


def estimate_build(recipe: Recipe, device: str = "auto", stack: int | None = None,
                   workers: int | None = None) -> BuildEstimate:
    """Plan `recipe`, time every group on `device` and project the build's wall time (see the module docstring)."""
    devices = resolve_devices(device)
    gpu = devices != ["cpu"]
    plan = make_plan(recipe)
    threads = torch.get_num_threads()
    single_thread()  # the build's workers train with one thread each
    try:
        groups = [_pretrain_group(job, devices[0]) for job in plan.pretrain_jobs]
        size = stack or (GPU_STACK if gpu else 1)
        groups += [_finetune_group(list(group.jobs), min(size, len(group.jobs)), devices[0])
                   for group in stack_jobs(plan.finetune_jobs, None)]
    finally:
        torch.set_num_threads(threads)
    count = len(devices) if gpu else workers or os.cpu_count() or 1
    return BuildEstimate(recipe.name, devices[0] if gpu else "cpu", count, _merged(groups))


def _merged(groups: list[GroupEstimate]) -> list[GroupEstimate]:
    """Groups that differ only by task (same shapes, stack and rates) as one row."""
    rows: dict[tuple, GroupEstimate] = {}
    for g in groups:
        key = (g.phase, g.arch_id, g.batch_size, g.stack, g.train_rate, g.eval_rate)
        if key in rows:
            old = rows[key]
            g = dataclasses.replace(old, jobs=old.jobs + g.jobs, train_images=old.train_images + g.train_images,
                                    eval_images=old.eval_images + g.eval_images)
        rows[key] = g
    return sorted(rows.values(), key=lambda g: (g.phase != "pretrain", g.arch_id, g.batch_size, g.stack))


def _pretrain_group(job: PretrainJob, device: str) -> GroupEstimate:
    n_train, n_val, n_test, classes = split_sizes(job.dataset)
    settings = job.model.settings
    train_rate, eval_rate = _rates(job.model.arch, job.model.size, job.dataset, classes, settings, 1, device)
    return GroupEstimate("pretrain", f"{job.model.arch}-{job.model.size}", settings.batch_size, 1,
                         1, settings.epochs * n_train, n_train + (settings.epochs + 1) * (n_val + n_test),
                         train_rate, eval_rate)


def _finetune_group(jobs: list, stack: int, device: str) -> GroupEstimate:
    first = jobs[0]
    train_images = eval_images = 0
    for job in jobs:
        n_train, n_val, n_test, classes = split_sizes(job.dataset)
        train_images += job.settings.epochs * n_train
        eval_images += n_train + (job.settings.epochs + 1) * (n_val + n_test)
    shape_only = dataclasses.replace(first.settings, lr=0.1, momentum=0.9, weight_decay=0.0, seed=0)  # time alike
    shapes = DatasetSpec("random", first.dataset.image_size, first.dataset.channels)
    train_rate, eval_rate = _rates(first.model.arch, first.model.size, shapes, classes, shape_only, stack, device)
    return GroupEstimate("finetune", f"{first.model.arch}-{first.model.size}", first.settings.batch_size, len(jobs),
                         stack, train_images, eval_images, train_rate, eval_rate)


@functools.cache
def _rates(arch: str, size: str, dataset: DatasetSpec, classes: int, settings: TrainSettings, stack: int,
           device: str) -> tuple[float, float]:
    """Training and evaluation images/s of `stack` models at once on random tensors (a plain module when 1)."""
    models = [build_model(arch, size, in_channels=dataset.channels, num_classes=classes,
                          image_size=dataset.image_size, dropout=settings.dropout) for _ in range(stack)]
    shape = (settings.batch_size, dataset.channels, dataset.image_size, dataset.image_size)
    x = torch.randn(stack, *shape, device=device)
    y = torch.randint(0, classes, (stack, settings.batch_size), device=device)
    if stack == 1:
        model = models[0].to(device)
        optimizer = make_optimizer(model, settings)

        def train_step() -> None:
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[0]), y[0]).backward()
            optimizer.step()

        def eval_step() -> None:
            model.eval()
            with torch.no_grad():
                model(torch.randn(EVAL_BATCH, *shape[1:], device=device))
            model.train()
    else:
        stacked = StackedModel(models, device)
        sgd = StackedSGD(stacked.flat, [settings] * stack)
        mask = torch.ones(stack, settings.batch_size, models[0].head.in_features, device=device)

        def train_step() -> None:
            F.cross_entropy(stacked.logits(x, mask).flatten(0, 1), y.flatten()).backward()
            sgd.step()

        def eval_step() -> None:
            with torch.no_grad():
                stacked.logits(torch.randn(EVAL_BATCH, *shape[1:], device=device))

    return (stack * settings.batch_size / _seconds_per_call(train_step, device),
            stack * EVAL_BATCH / _seconds_per_call(eval_step, device))


def _seconds_per_call(step: Callable[[], None], device: str) -> float:
    step()  # warm-up: allocations, kernel selection
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    synchronize()
    start, calls = time.perf_counter(), 0
    while calls < TIMED_STEPS and (calls == 0 or time.perf_counter() - start < TIMED_SECONDS):
        step()
        calls += 1
    synchronize()
    return (time.perf_counter() - start) / calls
