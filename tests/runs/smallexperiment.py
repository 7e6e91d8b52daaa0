"""A two-method experiment on the synthetic two-task hub, shared by the experiment and check tests."""

from __future__ import annotations

from pathlib import Path

from fmsbench.runs.experiment import load_experiment, run_experiment

FAST = '{ n_initial = 3, fit_steps = 20 }'


def write_experiment(tmp_path: Path, hub: Path, extra: str = "", name: str = "small") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'''name = "{name}"
description = "two methods on a synthetic hub"

[[arms]]
hub = "{hub}"
methods = ["random", "gp"]
seeds = "0-1"
budget = 8
tau_budgets = [4, 8]
settings = {FAST}
{extra}
[report]
budgets = [4, 8]
''')
    return path


def finished_experiment(two_task_hub: Path, folder: Path) -> tuple[Path, Path]:
    """The experiment file and its results folder, after running it in `folder`."""
    recipe = write_experiment(folder, two_task_hub)
    outcome = run_experiment(load_experiment(recipe), folder / "results")
    assert (outcome.written, outcome.skipped) == (2 * 2 * 2, 0)
    return recipe, folder / "results"
