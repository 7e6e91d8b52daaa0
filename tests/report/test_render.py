"""`fmsbench report`: Table-1 layout in four formats, figures, exports, and one-line errors for bad result folders."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.metrics import mean_and_sem, values_at_budgets
from fmsbench.replay.trajectory import Trajectory
from fmsbench.report import build_report, method_order
from fmsbench.runs.runner import plan_runs, run_all

runner = CliRunner()


def _report(*args: str) -> str:
    """What `fmsbench report` writes to stdout (caveats and file names go to stderr)."""
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_canonical_method_order() -> None:
    assert method_order({"zeta", "fms-gmn", "random", "dyhpo", "gp", "alpha"}) == [
        "random", "gp", "dyhpo", "fms-gmn", "alpha", "zeta"]


def test_table_format_is_full_width_when_piped(results: Path) -> None:
    output = _report(str(results), "--budgets", "4,8")
    assert output.index("Kendall's tau-b") < output.index("Regret") < output.index("Average rank")
    regret_table = output[output.index("Regret"):]
    assert regret_table.index("random") < regret_table.index("gp")  # canonical order, not alphabetical
    assert "duo/alpha" in output and "duo/beta" in output and "±" in output
    assert "y* = best validation accuracy" in output  # definitions are printed
    assert "…" not in output and max(len(line) for line in output.splitlines()) > 120  # nothing cut to 80 columns
    assert "Headroom: what the data of each task allow" in output and "Lower is better" in output and "Higher is better" in output


def test_markdown_format(results: Path) -> None:
    output = _report(str(results), "--tau", "--budgets", "4,8", "--format", "markdown")
    assert "| method | duo/alpha @ 4 | duo/alpha @ 8 | duo/beta @ 4 | duo/beta @ 8 |" in output
    assert "| random |" not in output and "| hyperband |" not in output  # no surrogate, no tau row
    assert "| gp | – (0)† |" in output  # tau at 4 epochs: before the first fit (n_initial = 5), marked
    assert "no surrogate fitted by 4 epochs" in output  # the note says why
    assert "### Regret" not in output and "### Definitions" in output
    assert "\\_forecast" in output, "underscores are escaped so markdown shows them"


def test_csv_values_are_means_over_seeds(results: Path) -> None:
    table = pd.read_csv(io.StringIO(_report(str(results), "--regret", "--budgets", "8", "--format", "csv")))
    assert list(table.columns) == ["metric", "hub", "task", "method", "budget", "mean", "sem", "n", "seeds", "best",
                                   "p_vs_best", "missing"]
    assert set(table.metric) == {"regret", "normalised_regret", "incumbent_test", "overhead_seconds", "average_rank"}
    row = table[(table.metric == "regret") & (table.task == "beta") & (table.method == "gp")].iloc[0]
    runs = [Trajectory.load(results / "duo" / "beta" / "gp" / f"seed{s}.json") for s in (0, 1, 2)]
    expected = mean_and_sem([values_at_budgets(r.column("cum_epochs"), r.column("regret"), [8])[0] for r in runs])
    assert (row["mean"], row["sem"], row["n"]) == pytest.approx(expected)
    ranks = table[table.metric == "average_rank"].set_index("method")["mean"]
    assert ranks.sum() == pytest.approx(6)  # 1 + 2 + 3 in every (task, seed) block
    regret = table[(table.metric == "regret") & (table.task == "beta")]
    assert regret[regret.best]["mean"].tolist() == [regret["mean"].min()]


def test_json_format(results: Path) -> None:
    data = json.loads(_report(str(results), "--budgets", "8", "--format", "json", "--method", "gp"))
    assert "regret" in data["definitions"] and "noise ceiling" in data["definitions"]
    assert {r["method"] for r in data["summary"]} == {"gp"}
    taus = [r["mean"] for r in data["summary"] if r["metric"] == "tau"]
    assert len(taus) == 2 and all(t is None or -1 <= t <= 1 for t in taus)
    assert [h["task"] for h in data["headroom"]] == ["alpha", "beta"]


def test_figures_are_written(results: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(results), "--budgets", "4,8", "--plot", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = {"regret_duo.png", "regret_seconds_duo.png", "tau_duo.png", "rank.png", "critical_difference_regret.png",
             "hub_curves_duo.png", "hub_hyperparameters_duo.png", "hub_paid_duo.png"}
    assert names <= {p.name for p in tmp_path.iterdir()}
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and name in result.output
    assert build_report(results, [8], plot=True).plots[0] == results / "plots" / "regret_duo.png"


def _error(*args: str) -> str:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1, result.output
    return " ".join(result.output.split())


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    assert "does not exist" in _error(str(tmp_path / "nowhere"))
    assert "no trajectories" in _error(str(tmp_path))


def test_unknown_method_and_format(results: Path) -> None:
    assert "no results for method 'dyhpo'" in _error(str(results), "--method", "dyhpo")
    result = runner.invoke(app, ["report", str(results), "--format", "html"])
    words = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "'html' is not one of 'table', 'markdown', 'csv', 'json'" in words


def test_default_budgets_are_those_the_runs_reached(results: Path, hand_hub: Path, tmp_path: Path) -> None:
    output = _report(str(results), "--regret", "--format", "csv")
    assert sorted(set(pd.read_csv(io.StringIO(output)).budget)) == [4, 8]  # the runs' tau budgets and budget
    run_all(plan_runs("random", hand_hub, None, [0], 20, tmp_path, (10, 20)).specs)  # 3 configs x 3 epochs: 9
    assert sorted(set(build_report(tmp_path).summary.budget)) == [9]


def test_a_budget_beyond_every_run_is_a_note_not_a_column(results: Path) -> None:
    output = _report(str(results), "--regret", "--budgets", "8,50,100")
    assert "budget 50, 100 left out: beyond every run (the longest spent 8 epochs)" in " ".join(output.split())
    assert "@ 50" not in output and "50 epochs" not in output
    assert "no run reached 50 epochs (the longest spent 8); choose --budgets up to 8" in _error(
        str(results), "--budgets", "50")


def test_results_of_another_hub_build_are_refused(results: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    shutil.copytree(results, mixed)
    path = mixed / "duo" / "alpha" / "random" / "seed1.json"
    data = json.loads(path.read_text())
    data["meta"]["hub_fingerprint"] = "0123456789abcdef"
    path.write_text(json.dumps(data))
    assert "different builds of hub 'duo'" in _error(str(mixed))
    moved = tmp_path / "moved"
    shutil.copytree(results, moved)
    shutil.move(str(moved / "duo" / "beta" / "gp"), str(moved / "duo" / "beta" / "random-moved"))
    assert "misplaced" in _error(str(moved))
    assert "give the results root" in _error(str(moved / "duo" / "beta"))


@pytest.mark.parametrize("damage", ["no steps", "not utf-8", "mistyped"])
def test_a_damaged_trajectory_is_refused_not_dropped(results: Path, tmp_path: Path, damage: str) -> None:
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    path = next(copy.rglob("seed0.json"))
    data = json.loads(path.read_text())
    if damage == "no steps":
        data["steps"] = []
    elif damage == "mistyped":
        data["steps"][0]["regret"] = "low"
    path.write_bytes(b"\xff\xfe" if damage == "not utf-8" else json.dumps(data).encode())
    result = runner.invoke(app, ["report", str(copy)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert str(path) in "".join(result.output.split())  # rich wraps the line; the path has no spaces
