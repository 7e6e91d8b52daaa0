"""Build throughput: stacked against one-at-a-time fine-tuning, scaling over workers, overhead over a bare loop.

    .venv/bin/python benchmarks/bench_build.py [--recipe ptm] [--configs 12] --device cpu|cuda --stack 16
    .venv/bin/python benchmarks/bench_build.py [--recipe ptm] --workers 1,2
    .venv/bin/python benchmarks/bench_build.py [--recipe ptm] [--configs 12] --overhead

--stack N (the default mode): the recipe's fine-tuning jobs (`--configs` per task, after their pretraining,
which is not timed) run through the build's own job function, first one at a time, then in stacks of at most N,
on one device in this process. Prints training images/s (the steps alone) and end-to-end images/s (with the
evaluations and shards) of both; the last line is the stacked / one-at-a-time ratio of training images/s.

--workers 1,2: the whole build (pretraining, fine-tuning, packing) on the local pool with each worker count;
the last line is the wall-time speedup of the largest count over the smallest.

--overhead: the build on one worker against a bare training loop of the same models, data and batch sizes
(no evaluation, checkpoints or files).

Prints figures, asserts nothing. Time on an idle machine: figures of a shared one drift by 10% and more.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from fmsbench.build.builder import build_hub
from fmsbench.build.jobs import run_job
from fmsbench.build.plan import FinetuneJob, PretrainJob, make_plan, stack_jobs
from fmsbench.build.recipe import Recipe, load_recipe
from fmsbench.build.train import make_optimizer
from fmsbench.data import load_dataset, to_float
from fmsbench.executors.base import resolve_devices
from fmsbench.models import build_model


def stacking(recipe: Recipe, device: str, stack: int) -> None:
    plan = make_plan(recipe)
    with tempfile.TemporaryDirectory() as folder:
        shards, cache = Path(folder), Path(folder) / "datasets"
        for job in plan.pretrain_jobs:
            run_job(job, shards, None, recipe.weights_dtype, cache, device="cpu")
        for spec in {job.dataset for job in plan.finetune_jobs}:
            load_dataset(spec, cache=cache)
        rates = {}
        for size in (1, stack):
            stacks = stack_jobs(plan.finetune_jobs, size)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            outcomes = [o for s in stacks for o in run_job(s, shards, None, recipe.weights_dtype, cache, device)]
            wall = time.perf_counter() - start
            images = sum(o.images for o in outcomes)
            rates[size] = images / sum(o.train_seconds for o in outcomes)
            largest = max(len(s.jobs) for s in stacks)
            print(f"stack <= {size:>3} ({len(stacks)} jobs, largest {largest:>3}): {rates[size]:>10,.0f} training "
                  f"images/s, {images / wall:>10,.0f} images/s end to end ({wall:.1f} s)")
    print(f"{recipe.name} fine-tuning on {device}, {len(plan.finetune_jobs)} configs: stacked (<= {stack}) / one at a "
          f"time = {rates[stack] / rates[1]:.2f}x training images/s")


def scaling(recipe: Recipe, workers: list[int]) -> None:
    walls = {}
    for count in workers:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            report = build_hub(recipe, out, workers=count, device="cpu")
            walls[count] = time.perf_counter() - start
        print(f"{count} worker(s): {walls[count]:.1f} s wall for {report.jobs_run} jobs")
    low, high = min(workers), max(workers)
    print(f"{recipe.name}: {high} workers / {low} worker(s) = {walls[low] / walls[high]:.2f}x wall-time speedup")


def bare_training(job: PretrainJob | FinetuneJob) -> tuple[int, float]:
    """Only the optimisation steps of one job: no evaluation, no checkpoints, no files."""
    settings = job.model.settings if isinstance(job, PretrainJob) else job.settings
    data = load_dataset(job.dataset)
    torch.manual_seed(settings.seed)
    model = build_model(job.model.arch, job.model.size, in_channels=job.dataset.channels,
                        num_classes=data.num_classes, image_size=job.dataset.image_size, dropout=settings.dropout)
    optimizer = make_optimizer(model, settings)
    generator = torch.Generator().manual_seed(settings.seed)
    model.train()
    start = time.perf_counter()
    for _ in range(settings.epochs):
        order = torch.randperm(len(data.train_x), generator=generator)
        for first in range(0, len(order), settings.batch_size):
            batch = order[first : first + settings.batch_size]
            loss = F.cross_entropy(model(to_float(data.train_x[batch])), data.train_y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return settings.epochs * len(data.train_x), time.perf_counter() - start


def overhead(recipe: Recipe) -> None:
    plan = make_plan(recipe)
    jobs = [*plan.pretrain_jobs, *plan.finetune_jobs]

    def bare() -> tuple[int, float]:
        results = [bare_training(job) for job in jobs]
        return sum(n for n, _ in results), sum(s for _, s in results)

    images, before = bare()  # before and after the build: timings drift over minutes on a shared machine
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        report = build_hub(recipe, out, workers=1, device="cpu")
        build_seconds = time.perf_counter() - start
    _, after = bare()
    bare_seconds = (before + after) / 2
    print(f"bare training loop : {images / bare_seconds:10,.0f} images/s ({before:.1f} s before, {after:.1f} s after)")
    print(f"hub build          : {images / build_seconds:10,.0f} images/s ({build_seconds:.1f} s, 1 worker)")
    print(f"build overhead     : {build_seconds / bare_seconds - 1:+.1%}, of which evaluation "
          f"{report.eval_seconds / bare_seconds:+.1%} (held-out and epoch-0 passes the hub records)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="ptm")
    parser.add_argument("--configs", type=int, default=12, help="fine-tuning configs per task (all: 0)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (stacking mode)")
    parser.add_argument("--stack", type=int, default=16, help="most configs per stack (stacking mode)")
    parser.add_argument("--workers", help="comma-separated worker counts, e.g. 1,2 (scaling mode)")
    parser.add_argument("--overhead", action="store_true", help="build against a bare loop (overhead mode)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    recipe = load_recipe(args.recipe)
    if args.configs:
        recipe = dataclasses.replace(recipe, grid=dataclasses.replace(recipe.grid, n_configs=args.configs))
    recipe = dataclasses.replace(recipe, name=f"bench-{recipe.name}")
    if args.workers:
        scaling(recipe, sorted(int(w) for w in args.workers.split(",")))
    elif args.overhead:
        overhead(recipe)
    else:
        stacking(recipe, resolve_devices(args.device)[0], args.stack)


if __name__ == "__main__":
    main()
