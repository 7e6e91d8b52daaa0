"""Experiments (recipes -> runs -> report) on a synthetic two-task hub."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from smallexperiment import write_experiment
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.errors import RecipeError
from fmsbench.methods import METHODS
from fmsbench.report import rich_tables
from fmsbench.runs.experiment import (
    experiment_names,
    experiment_trajectories,
    label_folder,
    load_experiment,
    run_experiment,
    write_experiment_report,
)

runner = CliRunner()


@pytest.mark.parametrize("name", experiment_names())
def test_bundled_experiments_parse_and_name_registered_methods(name: str) -> None:
    experiment = load_experiment(name)
    assert experiment.name == name and experiment.arms
    for arm in experiment.arms:
        for method in arm.methods:
            assert method in METHODS, f"{name}: unknown method {method}"


def test_the_paper_experiments_are_bundled() -> None:
    assert {"table1", "regret", "ablations", "generalisation", "ci"} <= set(experiment_names())
    generalisation = load_experiment("generalisation")
    transfers = [arm.transfer for arm in generalisation.arms if arm.transfer]
    assert len(transfers) == 2 and any(t.exclude_arch for t in transfers)
    assert any(arm.transfer is None for arm in generalisation.arms), "the no-transfer arm is the comparison"


def test_bundled_experiments_can_share_one_results_folder() -> None:
    """Experiments share runs: a run that two bundled experiments name must be the same run in both (a finished
    run with another budget, tau budgets or settings is refused, so the second experiment could not run)."""
    seen: dict[tuple[str, str, str], tuple[str, tuple]] = {}
    for name in experiment_names():
        for arm in load_experiment(name).arms:
            run = (arm.budget, tuple(sorted(arm.tau_budgets)), tuple(sorted(arm.settings.items())), arm.transfer)
            for method in arm.methods:
                first, wanted = seen.setdefault((arm.hub, label_folder(arm.label), method), (name, run))
                assert wanted == run, f"{name} and {first} disagree on {method} runs on {arm.hub}: {run} vs {wanted}"


def test_experiment_recipe_errors_are_named(tmp_path: Path, two_task_hub: Path) -> None:
    bad = write_experiment(tmp_path, two_task_hub).read_text().replace("budget = 8", "budgett = 8")
    (tmp_path / "bad.toml").write_text(bad)
    with pytest.raises(RecipeError, match="arms\\[0\\]: unknown key\\(s\\) budgett"):
        load_experiment(tmp_path / "bad.toml")
    with pytest.raises(RecipeError, match="bundled experiments: .*table1"):
        load_experiment("table2")


def test_run_saves_the_protocol_and_skips_finished_runs(finished: tuple[Path, Path]) -> None:
    recipe, results = finished
    assert (results / "experiments" / "small" / "experiment.toml").read_text() == recipe.read_text()
    again = run_experiment(load_experiment(recipe), results)
    assert (again.written, again.skipped) == (0, 8)
    runs = experiment_trajectories(load_experiment(recipe), results)
    assert sorted({(t.meta.task, t.meta.method) for t in runs}) == [
        ("alpha", "gp"), ("alpha", "random"), ("beta", "gp"), ("beta", "random")]


def test_labelled_arms_are_kept_apart(finished: tuple[Path, Path], two_task_hub: Path) -> None:
    recipe, results = finished
    path = write_experiment(recipe.parent, two_task_hub, extra='label = "short, cut"\n', name="labelled")
    path.write_text(path.read_text().replace("budget = 8\n", "budget = 6\n").replace("[4, 8]\nsettings", "[4]\nsettings"))
    run_experiment(load_experiment(path), results)
    assert len(list((results / "arms" / "short-cut").glob("*/*/*/seed*.json"))) == 8, "label as a folder name"
    methods = {t.meta.method for t in experiment_trajectories(load_experiment(path), results)}
    assert methods == {"random [short, cut]", "gp [short, cut]"}
    console = Console(width=200, record=True)
    for table in rich_tables(write_experiment_report(load_experiment(path), results).report):
        console.print(table)
    assert "gp [short, cut]" in console.export_text(), "a label is shown, not read as rich markup"


def test_cli_experiment_writes_the_results_page(finished: tuple[Path, Path]) -> None:
    recipe, results = finished
    result = runner.invoke(app, ["experiment", str(recipe), "--results", str(results)])
    assert result.exit_code == 0, result.output
    assert "0 runs written" in result.output and "8 already finished" in result.output
    folder = results / "experiments" / "small"
    page = (folder / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Kendall" in page and "data:image/png;base64," in page
    assert "src=\"http" not in page and "<link" not in page, "the page must be self-contained"
    assert (folder / "summary.csv").read_text().startswith("metric,hub,task,method,budget")
    assert (folder / "steps.csv").is_file() and (folder / "steps.parquet").is_file() and "steps.parquet" in page
    rerun = f"fmsbench experiment {folder / 'experiment.toml'} --results {results}"  # not bundled: its saved recipe
    assert rerun in page and '<section id="recipe">' in page
    listing = runner.invoke(app, ["experiment"])
    assert listing.exit_code == 0 and "table1" in listing.output and "generalisation" in listing.output


def test_cli_report_html(finished: tuple[Path, Path], tmp_path: Path) -> None:
    _, results = finished
    page = tmp_path / "page.html"
    result = runner.invoke(app, ["report", str(results), "--html", str(page), "--budgets", "4,8",
                                 "--out", str(tmp_path / "plots")])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "Regret" in text and text.count("data:image/png;base64,") >= 2
