"""What the data of a hub task allow (DESIGN.md, "Metrics: headroom"): ceilings for Kendall's tau and the shares
of configs that make a task easy (near y*) or degenerate (at chance, flat), from the hub's curves and configs alone.

A method's tau is read against these: the noise ceiling bounds any ranking by validation accuracy, the curve
ceiling is what a few paid epochs of every config would tell, and the hyperparameter ceiling is what a plain
regressor on the hyperparameters reaches from the same kind of data a model-based method starts from. Every
number is seeded: the same hub gives the same headroom. Definitions: `fmsbench.metrics.DEFINITIONS`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold

from fmsbench.hub.store import HubFile
from fmsbench.metrics import (
    CV_FOLDS,
    FEW_CONFIGS,
    FEW_DRAWS,
    FOREST_TREES,
    NEAR_BEST,
    at_chance,
    chance_level,
    flat_curves,
    kendall_tau,
    near_best_share,
)

CURVE_EPOCHS = (1, 3)
MOSTLY_AT_CHANCE = 0.5  # a task warns when more than this share of its configs ends at chance


@dataclass(frozen=True)
class Headroom:
    """Headroom of one task. Taus are NaN where undefined (e.g. an epoch beyond the task's, too few configs)."""

    task: str
    n_configs: int
    max_epoch: int
    chance: float
    noise_ceiling: float
    curve_ceiling: dict[int, float]
    hp_ceiling_few: float
    hp_ceiling_all: float
    near_best: dict[float, float]
    at_chance: float
    flat: float


def hyperparameter_features(configs: pd.DataFrame, search_space: dict[str, list]) -> np.ndarray:
    """[config, feature]: every searched hyperparameter with more than one value, as its number (a tree ensemble
    splits on order only, so log scales would change nothing), and the pretrained model one-hot."""
    columns = [configs[name].to_numpy(float) for name, grid in search_space.items()
               if name != "model" and name in configs and len(set(grid)) > 1]
    models = configs["model"].to_numpy(int)
    n_models = len(search_space.get("model", [])) or int(models.max()) + 1
    if n_models > 1:
        columns.extend((models == m).astype(float) for m in range(n_models))
    return np.stack(columns, axis=1) if columns else np.zeros((len(configs), 1))


def _forest(seed: int) -> RandomForestRegressor:
    return RandomForestRegressor(n_estimators=FOREST_TREES, random_state=seed, n_jobs=1)


def few_configs_ceiling(x: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Mean tau over FEW_DRAWS seeded draws of a forest trained on FEW_CONFIGS random configs, ranking the rest;
    NaN when the task has too few configs to leave at least two out."""
    if len(y) < FEW_CONFIGS + 2:
        return math.nan
    rng = np.random.default_rng(seed)
    taus = []
    for draw in range(FEW_DRAWS):
        order = rng.permutation(len(y))
        train, rest = order[:FEW_CONFIGS], order[FEW_CONFIGS:]
        model = _forest(seed + draw).fit(x[train], y[train])
        taus.append(kendall_tau(model.predict(x[rest]), y[rest]))
    return float(np.nanmean(taus)) if np.isfinite(taus).any() else math.nan


def all_configs_ceiling(x: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Tau of a forest's CV_FOLDS-fold out-of-fold predictions over every config; NaN below two per fold."""
    if len(y) < 2 * CV_FOLDS:
        return math.nan
    predicted = np.empty_like(y, dtype=float)
    for fold, (train, held_out) in enumerate(KFold(CV_FOLDS, shuffle=True, random_state=seed).split(x)):
        predicted[held_out] = _forest(seed + fold).fit(x[train], y[train]).predict(x[held_out])
    return kendall_tau(predicted, y)


def task_headroom(hub: HubFile, task: str, seed: int = 0) -> Headroom:
    """The headroom of `task` (seeded forests; a few seconds for a few hundred configs)."""
    info, curves = hub.task(task), hub.curves(task)
    val = curves[:, :, hub.metrics.index("val_acc")].astype(float)
    test = curves[:, :, hub.metrics.index("test_acc")].astype(float)
    final = val[:, -1]
    best = val[:, 1:].max(axis=1)
    x = hyperparameter_features(hub.configs, hub.search_space)
    return Headroom(
        task=task, n_configs=len(final), max_epoch=info.max_epoch, chance=chance_level(info.num_classes),
        noise_ceiling=kendall_tau(final, test[:, -1]),
        curve_ceiling={k: kendall_tau(val[:, k], final) if k <= info.max_epoch else math.nan for k in CURVE_EPOCHS},
        hp_ceiling_few=few_configs_ceiling(x, final, seed),
        hp_ceiling_all=all_configs_ceiling(x, final, seed),
        near_best={within: near_best_share(best, float(best.max()), within) for within in NEAR_BEST},
        at_chance=float(at_chance(final, info.num_classes).mean()),
        flat=float(flat_curves(val).mean()),
    )


def file_headroom(path: Path | str, task: str) -> Headroom:
    """`task_headroom` of a hub file, computed once per process while the file is unchanged (reports and `hub info`
    ask for it again and again; the forests take seconds)."""
    resolved = Path(path).resolve()
    return _cached_headroom(str(resolved), resolved.stat().st_mtime_ns, task)


@functools.lru_cache(maxsize=64)
def _cached_headroom(path: str, modified_ns: int, task: str) -> Headroom:
    with HubFile(path) as hub:
        return task_headroom(hub, task)


def hub_warnings(hub: HubFile, tasks: list[str] | None = None) -> list[str]:
    """Degenerate data a reader must know of: tasks where most configs end at chance, pretrained models that
    end their pretraining at chance (their "pretrained" configs fine-tune a network that learnt nothing)."""
    warnings = []
    for task in tasks or hub.tasks:
        info = hub.task(task)
        final = hub.curves(task)[:, -1, hub.metrics.index("val_acc")]
        share = float(at_chance(final, info.num_classes).mean())
        if share > MOSTLY_AT_CHANCE:
            warnings.append(f"hub {hub.recipe_name}, task {task}: {share:.0%} of {final.size} configs end at chance "
                            f"(final val acc <= {chance_level(info.num_classes):.3f} on {info.num_classes} classes); "
                            "regret and tau mostly compare near-chance configs")
    val = hub.metrics.index("val_acc")
    for model in hub.models:
        accuracy = float(hub.pretrain_curves(model.model_id)[-1, val])
        if at_chance(accuracy, model.num_classes):
            warnings.append(f"hub {hub.recipe_name}: pretrained model {model.model_id} ends pretraining at chance "
                            f"(val acc {accuracy:.3f} on {model.num_classes} classes); its configs fine-tune a "
                            "network that learnt nothing")
    return warnings
