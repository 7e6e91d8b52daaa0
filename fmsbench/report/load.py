"""Reading results: every trajectory under a results folder, checked for consistency, and the helpers that group
runs and read a run's value at a cumulative budget."""

from __future__ import annotations

import math
from pathlib import Path

from fmsbench.errors import FmsbenchError
from fmsbench.methods import METHODS
from fmsbench.metrics import values_at_budgets
from fmsbench.replay.trajectory import Trajectory

RunKey = tuple[str, str, str]  # (hub, task, method)


class ResultsError(FmsbenchError):
    """A results folder that is missing, empty, or mixes results of different hubs."""

    exit_code = 2


def method_order(names: set[str] | list[str]) -> list[str]:
    """Registered methods in registry order (`fmsbench methods`), then any others alphabetically; an experiment
    arm's variant "<method> [<label>]" follows its method."""
    registered = METHODS.names()

    def key(name: str) -> tuple[int, str, str]:
        base, _, label = name.partition(" [")
        rank = registered.index(base) if base in registered else len(registered)
        return rank, base, label

    return sorted(set(names), key=key)


def load_results(results_dir: Path) -> list[Trajectory]:
    """Every trajectory under `results_dir` (laid out <hub>/<task>/<method>/seed<k>.json; deeper folders such as an
    experiment's arms/ are not read), checked for consistency."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultsError(f"results folder {results_dir} does not exist; run `fmsbench run --out {results_dir}` first")
    files = sorted(results_dir.glob("*/*/*/seed*.json"))
    if not files and any(results_dir.rglob("seed*.json")):
        raise ResultsError(f"{results_dir} holds trajectories, but not as <hub>/<task>/<method>/seed<k>.json; "
                           "give the results root folder (the --out of `fmsbench run`)")
    if not files:
        raise ResultsError(f"no trajectories (seed*.json) under {results_dir}; run `fmsbench run --out {results_dir}` first")
    trajectories = [Trajectory.load(path) for path in files]
    builds: dict[tuple[str, str], tuple[str, Path]] = {}
    for path, trajectory in zip(files, trajectories, strict=True):
        meta = trajectory.meta
        expected = (meta.hub_name, meta.task, meta.method, f"seed{meta.seed}.json")
        actual = path.parts[-4:]
        if tuple(actual) != expected:
            raise ResultsError(f"{path} holds {'/'.join(expected)} of hub '{meta.hub_name}'; it is misplaced")
        first = builds.setdefault((meta.hub_name, meta.task), (meta.hub_fingerprint, path))
        if first[0] != meta.hub_fingerprint:
            raise ResultsError(
                f"{path} and {first[1]} come from different builds of hub '{meta.hub_name}' (task {meta.task}); "
                "rerun one of them on the same hub file"
            )
    return trajectories


def group_runs(trajectories: list[Trajectory]) -> dict[RunKey, list[Trajectory]]:
    """(hub, task, method) -> its runs, ordered by seed."""
    groups: dict[RunKey, list[Trajectory]] = {}
    for t in sorted(trajectories, key=lambda t: t.meta.seed):
        groups.setdefault((t.meta.hub_name, t.meta.task, t.meta.method), []).append(t)
    return groups


def task_keys(trajectories: list[Trajectory]) -> list[tuple[str, str]]:
    """Every (hub, task), sorted."""
    return sorted({(t.meta.hub_name, t.meta.task) for t in trajectories})


def at_budget(trajectory: Trajectory, column: str, budget: int) -> float:
    """A step field at cumulative budget B; NaN if the run's budget is below B or no step is paid by B."""
    if budget > trajectory.meta.budget:
        return math.nan
    return float(values_at_budgets(trajectory.column("cum_epochs"), trajectory.column(column), [budget])[0])
