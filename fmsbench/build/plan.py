"""Turn a recipe into a plan: the pretrained pool, the sampled configs table, and the jobs that build them.

A job is one pretraining (or zoo) run or one fine-tuning run. Its `key` hashes everything that affects its
result, so a shard on disk is reused only for exactly the same job.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmsbench.build.recipe import Recipe
from fmsbench.build.train import INITS, OPTIMIZERS, TrainSettings
from fmsbench.build.zoo_file import read_zoo
from fmsbench.data.spec import DatasetSpec
from fmsbench.errors import RecipeError


@dataclass(frozen=True)
class ZooSource:
    """An imported pool model: row `index` of the imported zoo file `path`, whose content hash is `digest`."""

    path: str
    index: int
    digest: str


@dataclass(frozen=True)
class PoolModel:
    """A pretrained model of the pool: the weights of run `run` (a pretraining job) after `epoch` epochs."""

    model_id: str
    arch: str
    size: str
    seed: int
    settings: TrainSettings
    source: ZooSource | None = None  # set: the job loads this model instead of training one
    epoch: int = -1  # the pretraining epoch its weights are from (-1: the run's last)
    run: str = ""  # its pretraining run's id ("": its own model_id)


@dataclass(frozen=True)
class PretrainJob:
    """One pretraining (or zoo) run; its shard keeps the weights at every epoch a pool model is taken at."""

    model: PoolModel  # the run (epoch = the last)
    dataset: DatasetSpec
    keep: tuple[int, ...] = ()  # epochs whose weights the shard keeps (default: the last)

    @property
    def key(self) -> str:
        return f"pretrain-{self.model.model_id}-{_digest(self)}"

    @property
    def kept(self) -> tuple[int, ...]:
        return self.keep or (self.model.settings.epochs,)


@dataclass(frozen=True)
class FinetuneJob:
    task: str
    config: int
    model: PoolModel
    pretrain_key: str
    dataset: DatasetSpec
    settings: TrainSettings

    @property
    def key(self) -> str:
        return f"finetune-{self.task}-{self.config:05d}-{_digest(self)}"


@dataclass(frozen=True)
class FinetuneStack:
    """Fine-tuning jobs that train at once (`fmsbench.build.stacked`): one task and dataset, one architecture
    (pretrained models may differ), one batch size, number of epochs and optimiser. A stack of one is trained
    alone, as a plain module. Shard keys stay per job, so a rerun with another stack size reuses every shard."""

    jobs: tuple[FinetuneJob, ...]

    @property
    def key(self) -> str:
        return self.jobs[0].key if len(self.jobs) == 1 else f"stack{len(self.jobs)}-{self.jobs[0].key}"


def stack_jobs(jobs: list[FinetuneJob], size: int | None) -> list[FinetuneStack]:
    """`jobs` grouped into stacks of at most `size` (None: each group whole), in plan order within each group."""
    groups: dict[tuple, list[FinetuneJob]] = {}
    for job in jobs:
        s = job.settings
        key = (job.task, job.dataset, job.model.arch, job.model.size, s.batch_size, s.epochs, s.optimizer)
        groups.setdefault(key, []).append(job)
    return [FinetuneStack(tuple(group[i : i + (size or len(group))]))
            for group in groups.values() for i in range(0, len(group), size or len(group))]


@dataclass
class Plan:
    recipe: Recipe
    models: list[PoolModel]
    configs: pd.DataFrame
    pretrain_jobs: list[PretrainJob]
    finetune_jobs: list[FinetuneJob]

    def job_of(self, model: PoolModel) -> PretrainJob:
        """The pretraining run a pool model is taken from."""
        return next(job for job in self.pretrain_jobs if job.model.model_id == (model.run or model.model_id))

    @property
    def search_space(self) -> dict[str, list]:
        grid = self.recipe.grid
        return {
            "model": list(range(len(self.models))),
            "batch_size": list(grid.batch_size),
            "lr": list(grid.lr),
            "momentum": list(grid.momentum),
            "weight_decay": list(grid.weight_decay),
            "dropout": list(grid.dropout),
        }


def _digest(job: object) -> str:
    return hashlib.sha256(repr(job).encode()).hexdigest()[:10]


def make_plan(recipe: Recipe) -> Plan:
    runs = _pool(recipe)
    _check_training_choices(runs)
    section = recipe.pretrain or recipe.zoo
    assert section is not None
    keep = tuple(sorted(set(section.checkpoints)))
    if any(not 1 <= epoch <= run.settings.epochs for epoch in keep for run in runs):
        raise RecipeError(f"checkpoints must be epochs of the pretraining runs (1..{runs[0].settings.epochs}), "
                          f"got {list(section.checkpoints)}")
    source_spec = section.dataset.at(recipe.image_size, recipe.channels)
    pretrain_jobs = [PretrainJob(run, source_spec, keep) for run in runs]
    models = [model for job in pretrain_jobs for model in _checkpoint_models(job)]
    run_keys = {job.model.model_id: job.key for job in pretrain_jobs}
    configs = _sample_configs(recipe, len(models))
    finetune_jobs = [
        FinetuneJob(
            task=task.name,
            config=index,
            model=models[int(row.model)],
            pretrain_key=run_keys[models[int(row.model)].run or models[int(row.model)].model_id],
            dataset=task.dataset.at(recipe.image_size, recipe.channels),
            settings=TrainSettings(
                epochs=recipe.epochs,
                batch_size=int(row.batch_size),
                optimizer="sgd",
                lr=float(row.lr),
                momentum=float(row.momentum),
                weight_decay=float(row.weight_decay),
                dropout=float(row.dropout),
                seed=int(row.seed),
            ),
        )
        for task in recipe.tasks
        for index, row in enumerate(configs.itertuples(index=False))
    ]
    return Plan(recipe, models, configs, pretrain_jobs, finetune_jobs)


def _checkpoint_models(job: PretrainJob) -> list[PoolModel]:
    """The pool models of one run: the run itself, or one per kept epoch (`<run id>-e<epoch>`)."""
    if not job.keep:
        return [job.model]
    return [dataclasses.replace(job.model, model_id=f"{job.model.model_id}-e{epoch:03d}", epoch=epoch,
                                run=job.model.model_id) for epoch in job.keep]


def _check_training_choices(models: list[PoolModel]) -> None:
    for model in models:
        if model.settings.optimizer not in OPTIMIZERS:
            raise RecipeError(f"unknown optimizer '{model.settings.optimizer}'; choose one of: {', '.join(OPTIMIZERS)}")
        if model.settings.init not in ("default", *INITS):
            raise RecipeError(f"unknown init '{model.settings.init}'; choose one of: default, {', '.join(INITS)}")


def _pool(recipe: Recipe) -> list[PoolModel]:
    if recipe.pretrain is not None:
        pre = recipe.pretrain
        return [
            PoolModel(
                f"{group.arch}-{size}-seed{seed}", group.arch, size, seed,
                TrainSettings(pre.epochs, pre.batch_size, pre.optimizer, group.lr or pre.lr, pre.momentum,
                              pre.weight_decay, 0.0, seed),
            )
            for group in pre.models
            for size in group.sizes
            for seed in group.seeds
        ]
    zoo = recipe.zoo
    assert zoo is not None
    if zoo.source is not None:
        return _imported_pool(recipe)
    rng = np.random.default_rng([recipe.seed, 1])
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    models = []
    for index in range(zoo.n_models):
        seed = recipe.seed * 100_000 + index
        settings = TrainSettings(
            zoo.epochs, zoo.batch_size, pick(zoo.optimizer), pick(zoo.lr), 0.9, pick(zoo.weight_decay),
            pick(zoo.dropout), seed, pick(zoo.init),
        )
        models.append(PoolModel(f"{zoo.arch}-{zoo.size}-zoo{index:04d}", zoo.arch, zoo.size, seed, settings))
    return models


def _imported_pool(recipe: Recipe) -> list[PoolModel]:
    """The first n_models models of an imported zoo file; their pretraining job trains 0 epochs (only evaluates)."""
    zoo = recipe.zoo
    assert zoo is not None and zoo.source is not None
    meta = read_zoo(zoo.source)
    if meta.header.in_channels != recipe.channels:
        raise RecipeError(f"{zoo.source} holds {meta.header.in_channels}-channel models but the recipe sets "
                          f"channels = {recipe.channels}")
    if zoo.n_models > len(meta.model_ids):
        raise RecipeError(f"zoo.n_models = {zoo.n_models} but {zoo.source} holds only {len(meta.model_ids)} models")
    evaluate_only = TrainSettings(0, zoo.batch_size, "sgd", 0.0, 0.0, 0.0, 0.0, 0)
    return [
        PoolModel(model_id, meta.header.arch, meta.header.size, index, evaluate_only,
                  ZooSource(str(meta.path.resolve()), index, meta.digest))
        for index, model_id in enumerate(meta.model_ids[: zoo.n_models])
    ]


def _sample_configs(recipe: Recipe, n_models: int) -> pd.DataFrame:
    """Sample n_configs points of the full grid without replacement, seeded by the recipe."""
    grid = recipe.grid
    axes = [range(n_models), grid.batch_size, grid.lr, grid.momentum, grid.weight_decay, grid.dropout]
    total = int(np.prod([len(axis) for axis in axes]))
    if grid.n_configs > total:
        raise RecipeError(f"grid.n_configs={grid.n_configs} but the grid has only {total} points")
    rng = np.random.default_rng([recipe.seed, 2])
    chosen = rng.choice(total, size=grid.n_configs, replace=False)
    positions = np.unravel_index(chosen, [len(axis) for axis in axes])
    names = ["model", "batch_size", "lr", "momentum", "weight_decay", "dropout"]
    table = pd.DataFrame({n: np.asarray(axis)[pos] for n, axis, pos in zip(names, axes, positions)})
    table["seed"] = rng.integers(0, 2**31 - 1, size=len(table))
    return table.astype({"model": np.int64, "batch_size": np.int64, "seed": np.int64})
