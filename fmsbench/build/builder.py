"""Build a hub: plan -> jobs on an executor -> one shard per job -> pack into one HDF5 file.

Interrupted builds resume: finished shards are found by their job key and skipped, so a killed build loses
at most the jobs in flight. Shards are removed once the hub is written. Training jobs run on cuda exactly when
the executor gives them GPUs (`--executor ray` on a cluster with GPUs); the local pool trains on the CPU.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from fmsbench.atomic import remove_stale_temporaries, sweep_temporaries
from fmsbench.build.jobs import read_shard, run_job, shard_path
from fmsbench.build.plan import Plan, make_plan
from fmsbench.build.recipe import Recipe
from fmsbench.build.size import check_hub_fits
from fmsbench.data import load_dataset
from fmsbench.errors import FmsbenchError
from fmsbench.executors import EXECUTORS
from fmsbench.hub.store import HubMeta, ModelRecord, RunRecord, TaskRecord, stored_recipe, write_hub
from fmsbench.paths import output_folder

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    path: Path
    jobs_run: int
    jobs_skipped: int
    images: int
    train_seconds: float  # training steps, summed over jobs
    eval_seconds: float  # epoch-0 and held-out evaluations, summed over jobs
    wall_seconds: float
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
) -> BuildReport:
    """Build (or finish building) the recipe's hub in `out_dir`; see fmsbench.executors for `executor`."""
    start = time.perf_counter()
    out = hub_path(recipe, output_folder(out_dir, "out"))
    plan = make_plan(recipe)
    jobs_total = len(plan.pretrain_jobs) + len(plan.finetune_jobs)
    shard_dir = out.with_suffix(".shards").absolute()  # workers may not share this process's working directory
    remove_stale_temporaries(out)
    sweep_temporaries(shard_dir)  # no job runs yet: every temporary file there is a killed job's
    if _already_built(out, recipe):
        return BuildReport(out, 0, jobs_total, 0, 0.0, 0.0, time.perf_counter() - start, packed=False)
    check_hub_fits(plan, out, shard_dir)
    pool = EXECUTORS.get(executor)(workers=workers, address=address, gpus_per_job=gpus_per_job,
                                   max_retries=max_retries)
    _check_datasets(plan, data_root, download)
    shard_dir.mkdir(parents=True, exist_ok=True)
    job_fn = functools.partial(run_job, shard_dir=shard_dir, data_root=data_root, weights_dtype=recipe.weights_dtype,
                               device="cuda" if pool.gpus_per_job > 0 else "cpu")
    run, images, seconds, eval_seconds = 0, 0, 0.0, 0.0
    for phase, jobs in (("pretrain", plan.pretrain_jobs), ("finetune", plan.finetune_jobs)):
        todo = [job for job in jobs if not shard_path(shard_dir, job.key).exists()]
        done = len(jobs) - len(todo)
        if on_progress:
            on_progress(phase, done, len(jobs))
        for outcome in pool.run(job_fn, todo):
            if not shard_path(shard_dir, outcome.key).exists():
                raise FmsbenchError(f"job {outcome.key} finished but its shard is not in {shard_dir}; "
                                    "on a Ray cluster, out must be a folder that every node shares",
                                    parameters=("out",))
            done, run = done + 1, run + 1
            images, seconds = images + outcome.images, seconds + outcome.train_seconds
            eval_seconds += outcome.eval_seconds
            if on_progress:
                on_progress(phase, done, len(jobs))
    pack(plan, shard_dir, out)
    if not keep_shards:
        shutil.rmtree(shard_dir)
    return BuildReport(out, run, jobs_total - run, images, seconds, eval_seconds, time.perf_counter() - start)


def _already_built(out: Path, recipe: Recipe) -> bool:
    return out.exists() and stored_recipe(out) == recipe.text


def _check_datasets(plan: Plan, data_root: str | None, download: bool) -> None:
    """Load (or download) every dataset once up front, so a missing one fails in a second, not after pretraining."""
    specs = {job.dataset for job in plan.pretrain_jobs} | {job.dataset for job in plan.finetune_jobs}
    for spec in sorted(specs, key=repr):
        load_dataset(spec, data_root, download)


def pack(plan: Plan, shard_dir: Path, out: Path) -> None:
    """Gather all shards into one hub file (written atomically)."""
    recipe = plan.recipe
    models = []
    for job in plan.pretrain_jobs:
        shard = read_shard(shard_path(shard_dir, job.key))
        model = job.model
        models.append(ModelRecord(
            model.model_id, model.arch, model.size, model.seed, job.dataset.channels, job.dataset.image_size,
            shard.info["num_classes"], shard.layout, shard.weights[0], shard.curves,
            info={**({"origin": shard.info["origin"]} if model.source else {"pretrain": asdict(model.settings)}),
                  "dataset": asdict(job.dataset)},
        ))
    tasks = []
    for task in recipe.tasks:
        first = next(job for job in plan.finetune_jobs if job.task == task.name)
        info = read_shard(shard_path(shard_dir, first.key)).info
        tasks.append(TaskRecord(task.name, asdict(first.dataset), info["num_classes"], recipe.epochs,
                                info["n_train"], info["n_val"], info["n_test"]))
    runs = (
        RunRecord(job.task, job.config, shard.curves, shard.weights, shard.layout)
        for job in plan.finetune_jobs
        for shard in [read_shard(shard_path(shard_dir, job.key))]
    )
    meta = HubMeta(recipe.name, recipe.text, recipe.kind, plan.search_space, recipe.weights_dtype)
    write_hub(out, meta, models, plan.configs, tasks, runs)
