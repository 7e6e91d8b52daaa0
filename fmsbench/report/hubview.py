"""Figures of the hub itself, beside the results: what the methods searched over, and what each one paid for.

- learning curves by architecture (validation accuracy per epoch of every config, coloured by learning rate),
- final validation accuracy against each hyperparameter,
- which configs each method trained, and how far, over configs sorted from best to worst.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fmsbench.hub.store import HubFile
from fmsbench.metrics import chance_level
from fmsbench.replay.trajectory import Trajectory
from fmsbench.report.figures import Figure, pyplot, save
from fmsbench.report.load import method_order

MAX_TICKS = 20


def _val(hub: HubFile, task: str) -> np.ndarray:
    return hub.curves(task)[:, :, hub.metrics.index("val_acc")]


def plot_curves_by_architecture(hub: HubFile, tasks: list[str], out: Path) -> Figure:
    configs = hub.configs
    archs = sorted(configs["arch"].unique())
    plt = pyplot()
    figure, axes = plt.subplots(len(tasks), len(archs), figsize=(3.2 * len(archs) + 1.2, 2.6 * len(tasks)),
                                squeeze=False, sharey="row", layout="constrained")
    rates = np.log10(configs["lr"].to_numpy(float))
    norm = plt.Normalize(rates.min(), rates.max() if rates.max() > rates.min() else rates.min() + 1)
    colours = plt.get_cmap("viridis")
    for row, task in enumerate(tasks):
        val, chance = _val(hub, task), chance_level(hub.task(task).num_classes)
        for col, arch in enumerate(archs):
            axis = axes[row][col]
            members = np.flatnonzero(configs["arch"].to_numpy() == arch)
            for config in members:
                axis.plot(val[config], color=colours(norm(rates[config])), linewidth=0.8, alpha=0.7)
            axis.axhline(chance, color="black", linestyle=":", linewidth=1)
            axis.set(title=f"{task} / {arch} ({members.size} configs)", xlabel="epoch",
                     ylabel="validation accuracy" if col == 0 else None)
            axis.grid(alpha=0.3)
    figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=colours), ax=axes, label="log10 learning rate",
                    shrink=0.8)
    caption = (f"Hub {hub.recipe_name}: validation accuracy per epoch of every config (epoch 0 = the pretrained "
               "model with its new head), one panel per task and architecture, coloured by learning rate; dotted: "
               "chance level (1.5 / classes). Flat lines at the dotted line are configs that never learn.")
    return save(figure, out / f"hub_curves_{hub.recipe_name}.png", caption)


def plot_final_vs_hyperparameters(hub: HubFile, tasks: list[str], out: Path) -> Figure:
    configs = hub.configs
    names = [n for n, grid in hub.search_space.items() if n in configs and len(set(grid)) > 1]
    archs = sorted(configs["arch"].unique())
    styles = {arch: f"C{index}" for index, arch in enumerate(archs)}
    plt = pyplot()
    figure, axes = plt.subplots(len(tasks), len(names), figsize=(2.9 * len(names) + 1.2, 2.9 * len(tasks)),
                                squeeze=False, sharey="row", layout="constrained")
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(configs))  # seeded: the same figure every time
    for row, task in enumerate(tasks):
        final, chance = _val(hub, task)[:, -1], chance_level(hub.task(task).num_classes)
        for col, name in enumerate(names):
            axis = axes[row][col]
            values = configs[name].to_numpy(float)
            grid = np.sort(np.unique(values))
            position = np.searchsorted(grid, values) + jitter  # grid positions: log-spaced grids read evenly
            for arch in archs:
                chosen = configs["arch"].to_numpy() == arch
                axis.scatter(position[chosen], final[chosen], s=9, alpha=0.7, color=styles[arch], label=arch)
            axis.axhline(chance, color="black", linestyle=":", linewidth=1)
            labels = [hub.model_ids[int(v)] if name == "model" else f"{v:g}" for v in grid]
            step = max(1, len(grid) // MAX_TICKS)  # a pool of 100 zoo models: every 5th label
            axis.set_xticks(range(0, len(grid), step), labels[::step],
                            rotation=60 if name == "model" or len(grid) > 4 else 0, fontsize="x-small")
            axis.set(title=f"{task}: {name}", ylabel="final validation accuracy" if col == 0 else None)
            axis.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", fontsize="small", frameon=False, title="architecture")
    caption = (f"Hub {hub.recipe_name}: final validation accuracy of every config against each hyperparameter "
               "(grid values evenly spaced, points jittered), coloured by architecture; dotted: chance level.")
    return save(figure, out / f"hub_hyperparameters_{hub.recipe_name}.png", caption)


def plot_paid_configs(hub: HubFile, tasks: list[str], runs: dict[str, list[Trajectory]], out: Path) -> Figure:
    """`runs`: method -> its runs, of every task in `tasks`."""
    methods = method_order(set(runs))
    plt = pyplot()
    figure, axes = plt.subplots(2 * len(tasks), 1, figsize=(10, len(tasks) * (1.6 + 0.28 * len(methods))),
                                squeeze=False, height_ratios=[1.2, 0.28 * len(methods)] * len(tasks),
                                layout="constrained")
    image = None
    for index, task in enumerate(tasks):
        val = _val(hub, task)
        order = np.argsort(-val[:, -1], kind="stable")
        top, bottom = axes[2 * index][0], axes[2 * index + 1][0]
        top.plot(val[order, -1], color="black", linewidth=1)
        top.set(title=f"{task}: configs from best to worst final validation accuracy", ylabel="final val acc",
                xlim=(-0.5, len(order) - 0.5), xticks=[])
        top.grid(alpha=0.3)
        share = np.zeros((len(methods), len(order)))
        for row, method in enumerate(methods):
            task_runs = [r for r in runs[method] if r.meta.task == task]
            for run in task_runs:
                reached = np.zeros(len(order))
                for step in run.steps:
                    reached[step.config] = max(reached[step.config], step.epoch)
                share[row] += reached[order] / run.meta.max_epoch / len(task_runs)
        image = bottom.imshow(share, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
        bottom.set_yticks(range(len(methods)), methods, fontsize="small")
        bottom.set_xlabel("config rank by final validation accuracy (best left)")
    figure.colorbar(image, ax=axes, label="share of max epoch trained\n(mean over seeds)", shrink=0.6)
    caption = (f"Hub {hub.recipe_name}: which configs each method paid for. Top: final validation accuracy of the "
               "configs, best first; below: per method, how far it trained each config by the end of its budget "
               "(share of the max epoch, mean over seeds; white = never touched). A method that finds good configs "
               "darkens the left.")
    return save(figure, out / f"hub_paid_{hub.recipe_name}.png", caption)
