"""Experiments: one command reproduces one piece of the paper's evaluation.

An experiment recipe (recipes/experiments/<name>.toml) lists arms; an arm is a sweep of methods x tasks x seeds
on one hub, optionally with a transfer protocol (the surrogate is meta-trained on source tasks first). Running
an experiment builds the hubs it names if they are missing, runs every unfinished run, and writes the report.

Layout under the results root (default `results/`)::

    <hub>/<task>/<method>/seed<k>.json                 plain runs, shared with `fmsbench run` and other experiments
    arms/<label>/<hub>/<task>/<method>/seed<k>.json    runs of a labelled arm (e.g. a transfer arm)
    arms/<label>/transfer/                             the meta-trained surrogate and its protocol (JSON)
    experiments/<name>/                                experiment.toml (the protocol), report.md, summary.csv,
                                                       steps.csv, steps.parquet, report.html, plots/
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmsbench import report as reporting
from fmsbench.atomic import write_text_atomic
from fmsbench.build.builder import build_hub
from fmsbench.build.recipe import RECIPES_DIR, load_recipe
from fmsbench.errors import RecipeError
from fmsbench.hub.store import HubFile
from fmsbench.paths import output_folder, unsafe_reason
from fmsbench.replay.trajectory import Trajectory
from fmsbench.runs.runner import ProgressCallback, RunSpec, parse_int_list, plan_runs, run_all
from fmsbench.runs.transfer import meta_train
from fmsbench.tomlconfig import build, bundled_names, checked, read_toml, resolve_toml

EXPERIMENTS_DIR = RECIPES_DIR / "experiments"


@dataclass(frozen=True)
class TransferSection:
    """Meta-train the method's surrogate on `source_tasks` of the same hub before the target run.

    exclude_arch: an architecture whose configs are left out of the meta-training data (held-out setting);
    configs_per_task: configs per source task whose whole curves (and checkpoints) are used (0: all);
    steps: Adam steps of meta-training; seed: seeds the choice of configs and the meta-training.
    """

    source_tasks: tuple[str, ...] = checked(nonempty=True, unique=True)
    exclude_arch: str | None = None
    configs_per_task: int = checked(0, low=0)
    steps: int = checked(1000, low=1)
    seed: int = checked(0, low=0)


@dataclass(frozen=True)
class ArmSection:
    """One sweep. hub: a hub recipe (bundled name or .toml; built into the hubs folder if missing) or a built .h5;
    label: results of a labelled arm go to arms/<label as a file name>/ (e.g. "vit held out" -> vit-held-out) and
        show as "<method> [<label>]" in the report."""

    hub: str
    methods: tuple[str, ...] = checked(nonempty=True, unique=True)
    label: str = ""
    tasks: tuple[str, ...] = checked((), unique=True)
    seeds: str = "0-9"
    budget: int = checked(100, low=1)
    tau_budgets: tuple[int, ...] = checked((50, 100), low=1, unique=True)
    settings: dict[str, Any] = field(default_factory=dict)
    transfer: TransferSection | None = None


@dataclass(frozen=True)
class ReportSection:
    budgets: tuple[int, ...] = checked((50, 100), low=1, nonempty=True, unique=True)
    tau: bool = True
    regret: bool = True
    plot: bool = True


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    arms: tuple[ArmSection, ...]
    report: ReportSection = ReportSection()
    text: str = field(default="", compare=False, repr=False, metadata={"toml": False})


def experiment_names() -> list[str]:
    return bundled_names(EXPERIMENTS_DIR)


def load_experiment(name_or_path: str | Path) -> Experiment:
    """A bundled experiment name (recipes/experiments/) or a path to an experiment .toml."""
    path = resolve_toml(name_or_path, EXPERIMENTS_DIR, "experiment")
    data, text = read_toml(path)
    experiment = build(Experiment, data, str(path), text=text)
    labels = [label_folder(arm.label) for arm in experiment.arms]
    if (reason := unsafe_reason(experiment.name)) is not None:
        raise RecipeError(f"{path}: name {experiment.name!r} cannot be a folder name ({reason}); use a plain name")
    if not experiment.arms or any(arm.transfer and not arm.label for arm in experiment.arms):
        raise RecipeError(f"{path}: give at least one [[arms]], and a label to every arm with a transfer section")
    if any(arm.label and (not folder or unsafe_reason(folder)) for arm, folder in zip(experiment.arms, labels)):
        raise RecipeError(f"{path}: an arm label needs at least one letter or digit and cannot be '.' or '..'")
    for arm in experiment.arms:
        parse_int_list(arm.seeds, "seeds")  # a bad seed list fails here, not after the first arm ran
    if len(set(filter(None, labels))) != len(list(filter(None, labels))):
        raise RecipeError(f"{path}: arm labels must be unique (also as folder names: {', '.join(filter(None, labels))})")
    return experiment


@dataclass
class ExperimentOutcome:
    written: int
    skipped: int


ArmProgress = Callable[[ArmSection, list[RunSpec]], ProgressCallback | None]


def label_folder(label: str) -> str:
    """A label as a portable folder name: runs of anything but letters, digits, '.', '_' and '-' become one '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")


def arm_results(results: Path, arm: ArmSection) -> Path:
    return Path(results) / "arms" / label_folder(arm.label) if arm.label else Path(results)


def run_experiment(experiment: Experiment, results: Path = Path("results"), hubs: Path = Path("hubs"), *,
                   jobs: int = 1, executor: str = "local", address: str | None = None, ensure_hub: Callable[[str, Path], Path] | None = None,
                   on_arm: ArmProgress | None = None, isolate: bool = True) -> ExperimentOutcome:
    """Build missing hubs, meta-train transfer arms, run every unfinished run; save the protocol with the results.

    An arm's hub is a built .h5 or a recipe: `ensure_hub(recipe, hubs)` returns its hub file, built if missing
    (the CLI passes one that shows build progress); `executor` and `address` choose where runs execute (see
    fmsbench.executors); `isolate` runs each method in its own worker process (fmsbench.replay.isolation).
    """
    folder = output_folder(results, "results") / "experiments" / experiment.name
    output_folder(hubs, "hubs")
    write_text_atomic(folder / "experiment.toml", experiment.text)
    ensure = ensure_hub or recipe_hub
    written = skipped = 0
    for arm in experiment.arms:
        hub = Path(arm.hub) if arm.hub.endswith(".h5") else ensure(arm.hub, Path(hubs))
        out = arm_results(results, arm)
        overrides = {key: str(value) for key, value in arm.settings.items()}
        if arm.transfer is not None:
            # absolute: an isolated method runs in an empty folder of its own
            overrides["warm_start"] = str(_meta_train(arm, hub, out / "transfer", overrides).absolute())
        tasks = ",".join(arm.tasks) if arm.tasks else "all"
        specs = plan_runs(",".join(arm.methods), hub, tasks, parse_int_list(arm.seeds, "seeds"), arm.budget, out,
                          arm.tau_budgets, overrides, isolate=isolate).specs
        outcome = run_all(specs, jobs, on_arm(arm, specs) if on_arm else None, executor=executor, address=address)
        written, skipped = written + len(outcome.written), skipped + len(outcome.skipped)
    return ExperimentOutcome(written, skipped)


def recipe_hub(recipe: str, hubs: Path) -> Path:
    """The hub file of `recipe` in `hubs`, built if missing."""
    return build_hub(load_recipe(recipe), hubs).path


def _meta_train(arm: ArmSection, hub: Path, folder: Path, overrides: dict[str, str]) -> Path:
    transfer = arm.transfer
    assert transfer is not None
    if len(arm.methods) != 1:
        raise RecipeError(f"arm '{arm.label}': a transfer arm runs exactly one method, got {', '.join(arm.methods)}")
    return meta_train(arm.methods[0], hub, transfer.source_tasks, folder, exclude_arch=transfer.exclude_arch,
                      configs_per_task=transfer.configs_per_task, steps=transfer.steps, seed=transfer.seed,
                      overrides=overrides)


def _hub_name(hub: str) -> str:
    if hub.endswith(".h5"):
        with HubFile(hub) as opened:
            return opened.recipe_name
    return load_recipe(hub).name


def experiment_trajectories(experiment: Experiment, results: Path) -> list[Trajectory]:
    """The finished runs of the experiment's arms (their hub, tasks, methods, seeds and budget only); a labelled
    arm's methods are shown as "<method> [<label>]"."""
    trajectories, loaded = [], {}  # unlabelled arms share the results root: read it once
    for arm in experiment.arms:
        hub, seeds, folder = _hub_name(arm.hub), set(parse_int_list(arm.seeds, "seeds")), arm_results(results, arm)
        if folder not in loaded:
            loaded[folder] = reporting.load_results(folder)
        for trajectory in loaded[folder]:
            meta = trajectory.meta
            if (meta.hub_name != hub or meta.method not in arm.methods or meta.seed not in seeds
                    or meta.budget != arm.budget or (arm.tasks and meta.task not in arm.tasks)):
                continue
            if arm.label:
                trajectory = dataclasses.replace(
                    trajectory, meta=dataclasses.replace(meta, method=f"{meta.method} [{arm.label}]"))
            trajectories.append(trajectory)
    unique = {(t.meta.hub_name, t.meta.task, t.meta.method, t.meta.seed): t for t in trajectories}
    if not unique:
        raise RecipeError(f"no finished runs of experiment '{experiment.name}' under {results}; "
                          f"run `fmsbench experiment {experiment.name}` first")
    return list(unique.values())


@dataclass
class ExperimentReport:
    report: reporting.Report
    html: Path
    markdown: Path
    files: list[Path]  # the markdown, summary.csv, steps.csv and steps.parquet


def reproduce_command(experiment: Experiment, results: Path) -> str:
    """The command that reruns `experiment` into `results`: by name if it is bundled, else from the recipe copy that
    `run_experiment` saves with the results."""
    bundled = experiment.name in experiment_names() and load_experiment(experiment.name).text == experiment.text
    recipe = experiment.name if bundled else str(Path(results) / "experiments" / experiment.name / "experiment.toml")
    return shlex.join(["fmsbench", "experiment", recipe, "--results", str(results)])


def write_experiment_report(experiment: Experiment, results: Path = Path("results")) -> ExperimentReport:
    """Tables, figures, data exports and one HTML page of the experiment's finished runs, in
    results/experiments/<name>/."""
    folder = Path(results) / "experiments" / experiment.name
    settings = experiment.report
    report = reporting.report_of(experiment_trajectories(experiment, results), list(settings.budgets),
                                 tau=settings.tau, regret=settings.regret,
                                 plots=folder / "plots" if settings.plot else None,
                                 commands=[reproduce_command(experiment, results)])
    markdown = folder / "report.md"
    write_text_atomic(markdown, f"# {experiment.name}\n\n{experiment.description}\n\n"
                                + reporting.render_markdown(report))
    files = [markdown, *reporting.write_exports(report, folder)]
    html = folder / "report.html"
    write_text_atomic(html, reporting.render_html(report, f"fmsbench experiment: {experiment.name}",
                                                  experiment.description, recipe=experiment.text, files=files))
    return ExperimentReport(report, html, markdown, files)
