"""Export a hub for tools outside fmsbench: a Syne Tune tabular blackbox, or long-format CSV curves.

`syne-tune` writes a folder that Syne Tune's `blackbox_tabular.deserialize` reads (the layout of its
`serialize`): one tabular blackbox per task, all tasks sharing the hub's configs::

    hyperparameters.parquet      one row per config: `config` (its id) and `hub` (the hub's name, a constant)
    objectives_evaluations.npy   float32 [task, config, seed (1), fidelity, objective]
    fidelities_values.npy        the fidelities: epochs 1..E
    configspace.json             {"config": choice(config ids), "hub": the hub's name}
    fidelityspace.json           {"epoch": randint(1, E)}
    configs.csv                  what each config id is: model, model_id, arch and every hyperparameter
    metadata.json                objectives_names, task_names, metric_elapsed_time, metric_default, resource_attr,
                                 and fmsbench's own keys (hub name, model ids); written last, so a folder without
                                 it is an unfinished export (Syne Tune checks for the same file)

Why a choice over config ids: a tabular blackbox answers only the rows it holds, and Syne Tune's searchers
sample each axis of a config space independently, so a space of the hyperparameters' grids (2,880 points for
ptm-demo) makes nearly every sampled config one the hub does not hold ("not present in available evaluations").
One choice over the hub's configs is the restriction Syne Tune accepts. The constant `hub` column is there
because Syne Tune's lookup of a row fails on a table of one column (it indexes with a tuple of the values).

Objectives are the hub's metrics as `metric_<name>`, plus `metric_elapsed_time` (cumulative training seconds, as
Syne Tune's simulator expects) and `metric_valid_error` = 1 - val_acc (the default metric; Syne Tune minimises).
Epoch 0 (the pretrained model before fine-tuning) costs no training, so it is not a Syne Tune fidelity; the
`csv` export keeps it: one row per (task, config, epoch 0..E) with the config's hyperparameters and every metric.
With `checkpoints`, either format also writes the weights of every config at every epoch (`checkpoints.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fmsbench.atomic import atomic_path, write_text_atomic
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.checkpoints import write_checkpoints
from fmsbench.hub.store import HubFile
from fmsbench.paths import output_folder
from fmsbench.registry import Registry

RESOURCE_ATTR = "epoch"
CONFIG_KEY = "config"  # the one searched axis of the Syne Tune export (same as the syne-tune-* methods')
HUB_KEY = "hub"
ELAPSED_TIME = "metric_elapsed_time"
DEFAULT_METRIC = "metric_valid_error"
CSV_NAME = "curves.csv"
Exporter = Callable[[list[Benchmark], Path], list[Path]]
EXPORTERS: Registry[Exporter] = Registry("export format")  # CLI name -> writer of the format's files


@dataclass
class ExportReport:
    out: Path
    files: list[Path]
    tasks: list[str]
    n_configs: int
    max_epoch: int


def export_hub(hub: Path | str, fmt: str, out: Path | str, checkpoints: bool = False) -> ExportReport:
    """Write `hub` to the folder `out` in format `fmt` ("syne-tune" or "csv"), with every checkpoint too if
    `checkpoints`; every file is written atomically."""
    exporter = EXPORTERS.get(fmt)
    out = output_folder(out, "out")
    with HubFile(hub) as opened:
        tasks = opened.tasks
    with ExitStack() as stack:
        benches = [stack.enter_context(Benchmark(hub, task)) for task in tasks]
        out.mkdir(parents=True, exist_ok=True)
        files = exporter(benches, out)
        if checkpoints:
            files.append(write_checkpoints(hub, out))
        return ExportReport(out, files, tasks, benches[0].n_configs, benches[0].max_epoch)


def _all_metrics(bench: Benchmark) -> np.ndarray:
    """[config, epoch 0..E, metric] of one task, in `bench.metrics` order."""
    return np.stack([bench.all_curves(metric) for metric in bench.metrics], axis=-1)


# ----------------------------------------------------------------- syne-tune
def _choice(values: list) -> dict:
    """A Syne Tune `choice(values)` as `syne_tune.config_space.to_dict` serialises it."""
    return {"domain_cls": "Categorical", "domain_kwargs": {"categories": values},
            "sampler_cls": "Uniform", "sampler_kwargs": {}}


def _randint(lower: int, upper: int) -> dict:
    return {"domain_cls": "Integer", "domain_kwargs": {"lower": lower, "upper": upper},
            "sampler_cls": "Uniform", "sampler_kwargs": {}}


def objective_names(metrics: list[str]) -> list[str]:
    return [f"metric_{m}" for m in metrics] + [ELAPSED_TIME, DEFAULT_METRIC]


def _objectives(bench: Benchmark) -> np.ndarray:
    """[config, fidelity 1..E, objective]: the metrics, cumulative training seconds, validation error."""
    values = _all_metrics(bench)[:, 1:]
    elapsed = np.cumsum(values[..., bench.metrics.index("seconds")], axis=1)
    error = 1.0 - values[..., bench.metrics.index("val_acc")]
    return np.concatenate([values, elapsed[..., None], error[..., None]], axis=-1)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


@EXPORTERS.register("syne-tune")
def export_syne_tune(benches: list[Benchmark], out: Path) -> list[Path]:
    first = benches[0]
    ids = list(range(first.n_configs))
    metadata = out / "metadata.json"
    metadata.unlink(missing_ok=True)  # the folder reads as unfinished until the new metadata lands
    files = [out / name for name in ("hyperparameters.parquet", "objectives_evaluations.npy", "fidelities_values.npy",
                                     "configspace.json", "fidelityspace.json", "configs.csv", "metadata.json")]
    with atomic_path(files[0]) as tmp:
        pd.DataFrame({CONFIG_KEY: ids, HUB_KEY: first.hub_name}).to_parquet(tmp, index=False, compression="gzip")
    objectives = np.stack([_objectives(bench) for bench in benches])[:, :, None].astype(np.float32)
    _save_npy(files[1], objectives)
    _save_npy(files[2], np.arange(1, first.max_epoch + 1, dtype=np.int64))
    write_text_atomic(files[3], json.dumps({CONFIG_KEY: _choice(ids), HUB_KEY: first.hub_name}))
    write_text_atomic(files[4], json.dumps({RESOURCE_ATTR: _randint(1, first.max_epoch)}))
    with atomic_path(files[5]) as tmp:
        _configs_table(first).to_csv(tmp, index=False)
    write_text_atomic(files[6], json.dumps({
        "objectives_names": objective_names(first.metrics),
        "task_names": [bench.task for bench in benches],
        "metric_elapsed_time": ELAPSED_TIME,
        "metric_default": DEFAULT_METRIC,
        "resource_attr": RESOURCE_ATTR,
        "fmsbench_hub": first.hub_name,
        "fmsbench_model_ids": first.model_ids,
    }))
    return files


def _configs_table(bench: Benchmark) -> pd.DataFrame:
    """The configs table with its id as a column and each config's model id beside its model index."""
    configs = bench.configs.reset_index()
    configs.insert(2, "model_id", [bench.model_ids[m] for m in configs["model"]])
    return configs


# ----------------------------------------------------------------- csv
@EXPORTERS.register("csv")
def export_csv(benches: list[Benchmark], out: Path) -> list[Path]:
    frames = []
    for bench in benches:
        values = _all_metrics(bench)
        n_configs, n_epochs, _ = values.shape
        configs = _configs_table(bench)
        frame = configs.loc[configs.index.repeat(n_epochs)].reset_index(drop=True)
        frame.insert(0, "task", bench.task)
        frame["epoch"] = np.tile(np.arange(n_epochs), n_configs)
        for index, metric in enumerate(bench.metrics):
            frame[metric] = values[:, :, index].reshape(-1)
        frames.append(frame)
    path = out / CSV_NAME
    with atomic_path(path) as tmp:
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False)
    return [path]

