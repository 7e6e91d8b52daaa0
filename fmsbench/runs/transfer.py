"""Meta-training a deep-kernel surrogate on source tasks: the transfer protocol of the generalisation experiment.

FMS (Mehta et al. 2024, "Improving Hyperparameter Optimization with Checkpointed Model Weights", arXiv
2406.18630) asks whether a surrogate trained on other tasks helps on an unseen one. The protocol, saved as JSON
beside the weights:

1. From each source task of the hub, `configs_per_task` configs (0: all) are drawn, seeded and without
   replacement, among those whose architecture is not `exclude_arch`. Every epoch of their curves is a
   training row, built by the method's own row code as if a run had paid for the whole curve: the curve of
   epochs 1..b-1 and the checkpoint at b-1 as inputs, the validation accuracy at b as target.
2. The method's surrogate (feature extractor, weight featurizer and GP hyperparameters) is trained by Adam for
   `steps` steps on the exact GP marginal likelihood of batches of `BATCH_ROWS` rows, each batch from one
   task, tasks in turn (a GP models one task's function; as FSBO does, Wistuba & Grabocka 2021, arXiv
   2101.07667).
3. The state is saved; a target run with the setting `warm_start=<file>` starts every from-scratch fit of its
   surrogate from it. Nothing of the target task is used before the target run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from fmsbench.atomic import atomic_path, write_text_atomic
from fmsbench.errors import FmsbenchError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods.base import METHODS
from fmsbench.methods.deep_kernel import DeepKernelSurrogate, SurrogateRows
from fmsbench.methods.dyhpo import DyHPO
from fmsbench.methods.gp_parts import SurrogateFitError
from fmsbench.replay.observation import Observation
from fmsbench.runs.runner import seeded_torch

BATCH_ROWS = 128
TaskRows = tuple[SurrogateRows, torch.Tensor]


def meta_train(method: str, hub: Path, source_tasks: Sequence[str], folder: Path, *, exclude_arch: str | None = None,
               configs_per_task: int = 0, steps: int = 1000, seed: int = 0,
               overrides: dict[str, str] | None = None) -> Path:
    """Meta-train `method`'s surrogate on `source_tasks` of `hub`; return the saved state (reused if the same
    protocol was trained before). The protocol is written next to it as JSON."""
    overrides = dict(overrides or {})
    if not source_tasks:
        raise FmsbenchError("transfer needs at least one source task")
    protocol = {"method": method, "hub": str(hub), "source_tasks": list(source_tasks), "exclude_arch": exclude_arch,
                "configs_per_task": configs_per_task, "steps": steps, "seed": seed, "batch_rows": BATCH_ROWS,
                "settings": overrides, "hub_fingerprints": {}, "configs": {}}
    if not isinstance(METHODS.get(method)(seed, **overrides), DyHPO):
        raise FmsbenchError(f"transfer meta-trains a deep-kernel surrogate; '{method}' has none "
                            "(use dyhpo or an fms-* method)")
    rng = np.random.default_rng(seed)
    for task in source_tasks:  # the protocol first: a cached state is returned before any checkpoint is read
        with Benchmark(hub, task) as bench:
            protocol["configs"][task] = _source_configs(bench, configs_per_task, exclude_arch, rng).tolist()
            protocol["hub_fingerprints"][task] = bench.fingerprint()
    state_path = Path(folder) / f"{method}-{_digest(protocol)}.pt"
    if state_path.exists():
        return state_path
    per_task: list[TaskRows] = []
    surrogate: DeepKernelSurrogate | None = None
    with seeded_torch(seed):
        for task in source_tasks:
            with Benchmark(hub, task) as bench:
                learner = METHODS.get(method)(seed, **overrides)
                trained = np.zeros(bench.n_configs, np.int64)
                trained[protocol["configs"][task]] = bench.max_epoch
                obs = Observation(bench, trained, int(trained.sum()))
                if surrogate is None:
                    surrogate = learner.new_surrogate(obs)
                per_task.append(learner.training_rows(obs, surrogate))
        assert surrogate is not None
        try:
            surrogate.fit_batches(_batches(per_task, steps, rng))
        except SurrogateFitError as error:
            raise FmsbenchError(f"meta-training {method} failed numerically ({error}); try another seed") from None
    with atomic_path(state_path) as tmp:
        torch.save(surrogate.state_dict(), tmp)
    write_text_atomic(state_path.with_suffix(".json"), json.dumps(protocol, indent=1))
    return state_path


def _source_configs(bench: Benchmark, count: int, exclude_arch: str | None, rng: np.random.Generator) -> np.ndarray:
    archs = bench.configs["arch"].to_numpy()
    if exclude_arch is not None and exclude_arch not in set(archs):
        raise FmsbenchError(f"exclude_arch '{exclude_arch}' is not an architecture of hub {bench.path}; its "
                            f"architectures: {', '.join(sorted(set(archs)))}")
    allowed = np.flatnonzero(archs != exclude_arch)
    if count and count < allowed.size:
        allowed = np.sort(rng.choice(allowed, size=count, replace=False))
    return allowed


def _batches(per_task: list[TaskRows], steps: int, rng: np.random.Generator) -> Iterator[TaskRows]:
    """`steps` batches of at most BATCH_ROWS rows, each from one task, the tasks in turn."""
    for step in range(steps):
        rows, y = per_task[step % len(per_task)]
        index = np.sort(rng.choice(len(rows), size=min(BATCH_ROWS, len(rows)), replace=False))
        yield rows.subset(index), y[torch.from_numpy(index)]


def _digest(protocol: dict) -> str:
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:12]
