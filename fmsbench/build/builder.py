"""Build a hub: plan -> jobs on an executor -> one shard per config -> pack into one HDF5 file.

Interrupted builds resume: finished shards are found by their job key and skipped, so a killed build loses at
most the jobs in flight, whatever the stack size of either run. Shards are removed once the hub is written.
Every dataset is prepared once, in this process, and read back by the workers. Jobs train on the devices the
executor gives them: the local pool runs one worker per GPU of `device` (default: every visible GPU, else the
CPU cores); Ray gives a job GPUs when the cluster has them. Fine-tuning configs that can share a stack
(`fmsbench.build.plan.stack_jobs`) train together on a GPU (`fmsbench.build.stacked`); on a CPU one at a time,
which measured faster there (benchmarks/bench_build.py).
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fmsbench.atomic import remove_stale_temporaries, sweep_temporaries
from fmsbench.build.jobs import pretrained_weights, read_shard, run_job, shard_path
from fmsbench.build.plan import Plan, make_plan, stack_jobs
from fmsbench.build.recipe import Recipe
from fmsbench.build.size import check_hub_fits
from fmsbench.data import load_dataset
from fmsbench.errors import FmsbenchError
from fmsbench.executors import EXECUTORS
from fmsbench.executors.base import Executor, resolve_devices
from fmsbench.hub.store import METRICS, HubMeta, ModelRecord, RunRecord, TaskRecord, stored_recipe, write_hub
from fmsbench.paths import output_folder

CPU_STACK = 1  # on a CPU, vmapped convolutions (grouped convolutions) ran slower than one model at a time


@dataclass(frozen=True)
class BuildProgress:
    """Where a build stands: `done` of `total` jobs (configs) of `phase`, training images and seconds so far."""

    phase: str
    done: int
    total: int
    images: int
    elapsed: float


ProgressCallback = Callable[[BuildProgress], None]


@dataclass
class BuildReport:
    path: Path
    jobs_run: int
    jobs_skipped: int
    images: int
    train_seconds: float  # training steps, summed over jobs
    eval_seconds: float  # epoch-0 and held-out evaluations, summed over jobs
    wall_seconds: float
    weak_models: list[str] = field(default_factory=list)  # pool models not above twice chance (see `pack`)
    packed: bool = True  # False: the hub was already built from this recipe, nothing was done

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def hub_path(recipe: Recipe, out_dir: Path) -> Path:
    return Path(out_dir) / f"{recipe.name}.h5"


def build_hub(
    recipe: Recipe,
    out_dir: Path | str = "hubs",
    *,
    data_root: str | None = None,
    download: bool = False,
    workers: int | None = None,
    executor: str = "local",
    address: str | None = None,
    gpus_per_job: float | None = None,
    max_retries: int = 2,
    on_progress: ProgressCallback | None = None,
    keep_shards: bool = False,
    device: str = "auto",
    stack: int | None = None,
) -> BuildReport:
    """Build (or finish building) the recipe's hub in `out_dir`; see fmsbench.executors for `executor`.

    device: "auto" (every visible GPU, else the CPU), "cpu", "cuda" or "cuda:N" (the local pool; Ray places jobs
    itself). stack: most fine-tuning configs trained at once (1: one at a time; None: on a CPU 1, on a GPU as
    many as fit in its free memory, measured in the worker).
    """
    start = time.perf_counter()
    out = hub_path(recipe, output_folder(out_dir, "out"))
    plan = make_plan(recipe)
    jobs_total = len(plan.pretrain_jobs) + len(plan.finetune_jobs)
    if stack is not None and stack < 1:
        raise FmsbenchError(f"stack must be at least 1, got {stack}", parameters=("stack",))
    shard_dir = out.with_suffix(".shards").absolute()  # workers may not share this process's working directory
    remove_stale_temporaries(out)
    sweep_temporaries(shard_dir)  # no job runs yet: every temporary file there is a killed job's
    if _already_built(out, recipe):
        return BuildReport(out, 0, jobs_total, 0, 0.0, 0.0, time.perf_counter() - start, packed=False)
    check_hub_fits(plan, out, shard_dir)
    devices = resolve_devices(device) if executor == "local" else ["cpu"]
    pool = EXECUTORS.get(executor)(workers=workers, address=address, gpus_per_job=gpus_per_job,
                                   max_retries=max_retries, devices=devices)
    shard_dir.mkdir(parents=True, exist_ok=True)
    cache = shard_dir / "datasets"
    _prepare_datasets(plan, data_root, download, cache)
    job_fn = functools.partial(run_job, shard_dir=shard_dir, data_root=data_root, weights_dtype=recipe.weights_dtype,
                               dataset_cache=cache)
    on_gpu = devices != ["cpu"] or pool.gpus_per_job > 0
    totals = [0, 0, 0.0, 0.0]  # jobs run, training images, training seconds, evaluation seconds
    with pool:  # its workers serve both phases
        for phase, jobs in (("pretrain", plan.pretrain_jobs), ("finetune", plan.finetune_jobs)):
            todo = [job for job in jobs if not shard_path(shard_dir, job.key).exists()]
            items = todo if phase == "pretrain" else stack_jobs(todo, stack if stack or on_gpu else CPU_STACK)
            _run_phase(pool, job_fn, phase, items, len(jobs) - len(todo), len(jobs), shard_dir, totals, on_progress)
    run, images, seconds, eval_seconds = totals
    weak = pack(plan, shard_dir, out)
    if not keep_shards:
        shutil.rmtree(shard_dir)
    return BuildReport(out, run, jobs_total - run, images, seconds, eval_seconds, time.perf_counter() - start, weak)


def _run_phase(pool: Executor, job_fn: Callable, phase: str, items: list, done: int, total: int, shard_dir: Path,
               totals: list, on_progress: ProgressCallback | None) -> None:
    """Run one phase's jobs, adding to `totals` (jobs run, images, training and evaluation seconds)."""
    start, images = time.perf_counter(), 0
    if on_progress:
        on_progress(BuildProgress(phase, done, total, 0, 0.0))
    for outcomes in pool.run(job_fn, items):
        for outcome in outcomes:
            if not shard_path(shard_dir, outcome.key).exists():
                raise FmsbenchError(f"job {outcome.key} finished but its shard is not in {shard_dir}; "
                                    "on a Ray cluster, out must be a folder that every node shares",
                                    parameters=("out",))
            done, images = done + 1, images + outcome.images
            totals[0] += 1
            totals[1] += outcome.images
            totals[2] += outcome.train_seconds
            totals[3] += outcome.eval_seconds
        if on_progress:
            on_progress(BuildProgress(phase, done, total, images, time.perf_counter() - start))


def _already_built(out: Path, recipe: Recipe) -> bool:
    return out.exists() and stored_recipe(out) == recipe.text


def _prepare_datasets(plan: Plan, data_root: str | None, download: bool, cache: Path) -> None:
    """Prepare (or download) every dataset once, up front, into `cache`: a missing one fails in a second, not
    after pretraining, and the workers read the prepared splits instead of each making their own."""
    specs = {job.dataset for job in plan.pretrain_jobs} | {job.dataset for job in plan.finetune_jobs}
    for spec in sorted(specs, key=repr):
        load_dataset(spec, data_root, download, cache=cache)


WEAK_FACTOR = 2.0  # a pretrained model whose validation accuracy is not above this times chance is flagged


def merged_environment(environments: list[dict[str, str]]) -> dict[str, str]:
    """One environment for the hub: each key's distinct values over the jobs, joined by " | " where they differ
    (a build resumed elsewhere, or Ray workers on different machines)."""
    keys = dict.fromkeys(key for environment in environments for key in environment)
    return {key: " | ".join(sorted({environment.get(key, "?") for environment in environments})) for key in keys}


def pack(plan: Plan, shard_dir: Path, out: Path) -> list[str]:
    """Gather all shards into one hub file (written atomically); return the pool models whose pretraining
    validation accuracy is not above twice chance (a "pretrained" model that learnt nothing). The hub's environment
    is that of the pretraining jobs and of each task's first fine-tuning job (the shards read here anyway)."""
    recipe = plan.recipe
    models, weak, environments = [], [], []
    for model in plan.models:
        job = plan.job_of(model)
        shard = read_shard(shard_path(shard_dir, job.key))
        environments.append(shard.info.get("environment", {}))
        curves = shard.curves if model.epoch < 0 else shard.curves[: model.epoch + 1]
        models.append(ModelRecord(
            model.model_id, model.arch, model.size, model.seed, job.dataset.channels, job.dataset.image_size,
            shard.info["num_classes"], shard.layout, pretrained_weights(shard, model), curves,
            info={**({"origin": shard.info["origin"]} if model.source else {"pretrain": asdict(model.settings)}),
                  "dataset": asdict(job.dataset), **({"epoch": model.epoch} if model.epoch >= 0 else {})},
        ))
        if curves[-1, METRICS.index("val_acc")] <= WEAK_FACTOR / shard.info["num_classes"]:
            weak.append(model.model_id)
    tasks = []
    for task in recipe.tasks:
        first = next(job for job in plan.finetune_jobs if job.task == task.name)
        info = read_shard(shard_path(shard_dir, first.key)).info
        environments.append(info.get("environment", {}))
        tasks.append(TaskRecord(task.name, asdict(first.dataset), info["num_classes"], recipe.epochs,
                                info["n_train"], info["n_val"], info["n_test"]))
    runs = (
        RunRecord(job.task, job.config, shard.curves, shard.weights, shard.layout)
        for job in plan.finetune_jobs
        for shard in [read_shard(shard_path(shard_dir, job.key))]
    )
    meta = HubMeta(recipe.name, recipe.text, recipe.kind, plan.search_space, recipe.weights_dtype,
                   merged_environment(environments))
    write_hub(out, meta, models, plan.configs, tasks, runs)
    return weak
