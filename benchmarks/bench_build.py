"""Build throughput against a bare training loop of the same models, data and batch sizes, in one run.

    .venv/bin/python benchmarks/bench_build.py [--recipe ptm] [--configs 12] [--workers 1]

The hub build does the same training steps as the bare loop plus everything a build adds: epoch-0 and
per-epoch evaluation on val/test, checkpoint flattening, shard writing and HDF5 packing. Datasets are
prepared once per process and cached, for both sides. Overhead = build wall time / bare wall time - 1 (target: <= 10%),
split into the evaluation passes the hub must record and everything else. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

import torch
import torch.nn.functional as F

from fmsbench.build.builder import build_hub
from fmsbench.build.plan import FinetuneJob, PretrainJob, make_plan
from fmsbench.build.recipe import load_recipe
from fmsbench.build.train import make_optimizer
from fmsbench.data import load_dataset, to_float
from fmsbench.models import build_model


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


def bare_sweep(jobs: list[PretrainJob | FinetuneJob]) -> tuple[int, float]:
    """Images and seconds of the bare loop over all jobs (run before and after the build: timings drift by
    several percent over minutes on a shared machine)."""
    images, seconds = 0, 0.0
    for job in jobs:
        n, job_seconds = bare_training(job)
        images, seconds = images + n, seconds + job_seconds
    return images, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="ptm")
    parser.add_argument("--configs", type=int, default=12, help="fine-tuning configs per task to build")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    recipe = load_recipe(args.recipe)
    recipe = dataclasses.replace(recipe, name=f"bench-{recipe.name}",
                                 grid=dataclasses.replace(recipe.grid, n_configs=args.configs))
    plan = make_plan(recipe)
    jobs = [*plan.pretrain_jobs, *plan.finetune_jobs]
    for spec in {job.dataset for job in jobs}:
        load_dataset(spec)  # warm the per-process cache: both sides then use the same in-memory tensors

    images, before = bare_sweep(jobs)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        report = build_hub(recipe, out, workers=args.workers)
        build_seconds = time.perf_counter() - start
        size = report.size_bytes
    _, after = bare_sweep(jobs)
    bare_seconds = (before + after) / 2
    assert report.images == images, (report.images, images)
    print(f"recipe {args.recipe} with {args.configs} configs/task: {len(jobs)} jobs, {images:,} training images")
    print(f"bare training loop : {images / bare_seconds:10,.0f} images/s  (mean of {before:.1f} s before and "
          f"{after:.1f} s after the build, 1 thread)")
    print(f"hub build          : {images / build_seconds:10,.0f} images/s  ({build_seconds:.1f} s, "
          f"{args.workers} worker(s)); steps alone took {report.train_seconds:.1f} s")
    if args.workers == 1:
        evaluation = report.eval_seconds / bare_seconds
        print(f"build overhead     : {build_seconds / bare_seconds - 1:+.1%} (target <= +10%): evaluation {evaluation:+.1%} "
              f"({report.eval_seconds:.1f} s of held-out and epoch-0 passes), the rest "
              f"{(build_seconds - report.eval_seconds) / bare_seconds - 1:+.1%} (steps with loss/accuracy logging, "
              "checkpoints, shards, HDF5)")
    print(f"hub size           : {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
