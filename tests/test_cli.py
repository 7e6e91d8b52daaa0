"""The command line as users type it: build-hub, methods, run; results on disk, reruns, one-line errors."""

from __future__ import annotations

import importlib.util
import json
import shutil
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmsbench import cli
from fmsbench.build.recipe import RECIPES_DIR
from fmsbench.cli import app
from fmsbench.executors import EXECUTORS
from fmsbench.hub import store
from fmsbench.hub.export import EXPORTERS
from fmsbench.methods import METHODS
from fmsbench.methods.base import unsuitable
from fmsbench.report import RENDERERS
from fmsbench.runs.sweep import plan_sweep
from fmsbench.version import __version__

runner = CliRunner()


def test_unknown_recipe_key_exits_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((RECIPES_DIR / "ptm-tiny.toml").read_text().replace("seed = 0", "sede = 0"))
    result = runner.invoke(app, ["build-hub", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown key(s) sede" in result.output and "Traceback" not in result.output


def test_recipe_option_must_match_the_hub_kind(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build-hub", "simple-cnn", "--recipe", "ptm-tiny", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a 'ptm' recipe" in result.output


def test_missing_real_dataset_names_path_and_alternative(tmp_path: Path) -> None:
    recipe = tmp_path / "mnist.toml"
    recipe.write_text((RECIPES_DIR / "simple-cnn-tiny.toml").read_text().replace(
        'name = "digits", n_train = 200', 'name = "mnist", n_train = 200'))
    result = runner.invoke(app, ["build-hub", str(recipe), "--out", str(tmp_path), "--data-root", str(tmp_path)])
    assert result.exit_code == 2
    assert str(tmp_path) in result.output and "digits" in result.output
    assert "Traceback" not in result.output


def test_methods_lists_the_registry_with_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per method
    result = runner.invoke(app, ["methods"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") >= 3}
    for name in ("random", "gp", "dyhpo", "dyhpo-nocnn", "optuna-tpe", "syne-tune-asha"):
        assert "built-in" in rows[name], name


def test_methods_of_a_missing_extra_are_listed_skipped_and_refused_in_one_line(
        synth_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "optuna" else found(name, *rest))
    monkeypatch.setenv("COLUMNS", "250")
    listing = runner.invoke(app, ["methods"])
    row = next(line for line in listing.output.splitlines() if "│ optuna-tpe " in line)
    assert "needs the optuna extra (pip install 'fmsbench[optuna]')" in row
    assert "optuna-tpe" in plan_sweep("all", [synth_hub], budget=5).skipped
    result = runner.invoke(app, ["run", "--method", "optuna-tpe", "--hub", str(synth_hub)])
    assert "method optuna-tpe needs optuna, which is not installed; pip install 'fmsbench[optuna]'" in \
        _one_line_error(result)


def test_version_completion_and_choices() -> None:
    assert runner.invoke(app, ["--version"]).output == f"fmsbench {__version__}\n"
    assert "--install-completion" in runner.invoke(app, ["--help"]).output
    # the choices --help lists are the registries' names
    assert list(typing.get_args(cli.ExecutorName)) == EXECUTORS.names()
    assert list(typing.get_args(cli.ExportFormat)) == EXPORTERS.names()
    assert list(typing.get_args(cli.ReportFormat)) == RENDERERS.names()
    assert "local|ray" in runner.invoke(app, ["run", "--help"]).output


def test_the_mission_commands_in_an_empty_folder(tiny_ptm_hub: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """build-hub, run, report with no other arguments (the tiny recipe: `ptm` itself takes minutes to build, and
    the build is reused here; `test_the_mission_commands_build_the_hub` builds it)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hubs").mkdir()
    shutil.copy(tiny_ptm_hub, tmp_path / "hubs" / "ptm-tiny.h5")
    built = runner.invoke(app, ["build-hub", "ptm-tiny"])
    assert built.exit_code == 0 and "already built" in built.output, built.output
    _run_and_report()


@pytest.mark.slow
def test_the_mission_commands_build_the_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    built = runner.invoke(app, ["build-hub", "ptm-tiny"])
    assert built.exit_code == 0 and "built hubs/ptm-tiny.h5" in built.output, built.output
    _run_and_report()


def _run_and_report() -> None:
    ran = runner.invoke(app, ["run", "--method", "random"])
    assert ran.exit_code == 0, ran.output
    assert "hubs: hubs/ptm-tiny.h5" in ran.output and "2 runs written" in ran.output  # every task
    assert sorted(p.as_posix() for p in Path("results").rglob("*.json")) == [
        f"results/ptm-tiny/{task}/random/seed0.json" for task in ("digits", "shapes")]
    report = runner.invoke(app, ["report", "--tau", "--regret"])
    assert report.exit_code == 0, report.output
    # the hub holds 8 configs x 3 epochs: each run trained all of them in 24 epochs, the column it reached
    rows = [line for line in report.output.splitlines() if line.strip(" │|").startswith("random")]
    assert "ptm-tiny/digits" in report.output and "24 epochs" in report.output
    assert rows and not any("–" in row for row in rows), "every cell of random's rows is filled"
    assert "no run measured Kendall's tau at budget 12, 24: runs measure it when they reach their tau " \
           "budgets (here 12, 24), and only methods with a surrogate do" in " ".join(report.output.split())


def test_run_without_a_hub_in_hubs_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    message = _one_line_error(runner.invoke(app, ["run", "--method", "random"]), code=1)
    assert "nothing to run on: hubs/ holds no fmsbench hubs; build one with `fmsbench build-hub ptm` or name one " \
           "with --hub" in message


def test_run_writes_one_file_per_run_and_skips_on_rerun(two_task_hub: Path, tmp_path: Path) -> None:
    args = ["run", "--method", "random,dyhpo-nocnn", "--hub", str(two_task_hub), "--task", "all", "--seeds", "0-1",
            "--budget", "6", "--out", str(tmp_path), "--tau-budgets", "6", "--setting", "n_initial=3",
            "--setting", "fit_steps=20", "--setting", "refine_steps=5"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "8 runs written" in first.output
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert files == [f"duo/{t}/{m}/seed{s}.json" for t in ("alpha", "beta") for m in ("dyhpo-nocnn", "random")
                     for s in (0, 1)]
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 runs written" in again.output and "8 already finished" in again.output


def _one_line_error(result, code: int = 2) -> str:  # noqa: ANN001
    """The error message, unwrapped (rich wraps long lines at the terminal width)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error:") and result.output.count("error:") == 1, result.output
    return " ".join(result.output.split())


def test_unknown_method_is_one_line(synth_hub: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--method", "hyperbandx", "--hub", str(synth_hub), "--out", str(tmp_path)])
    assert "unknown method 'hyperbandx'" in _one_line_error(result)


def test_missing_hub_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--method", "random", "--hub", str(tmp_path / "none.h5")])
    assert "does not exist" in _one_line_error(result)


def test_bad_seeds_are_one_line(synth_hub: Path) -> None:
    result = runner.invoke(app, ["run", "--method", "random", "--hub", str(synth_hub), "--seeds", "x"])
    assert "cannot read seeds" in _one_line_error(result, code=1)


def test_run_all_opens_the_hub_once_per_task_plus_twice(tiny_ptm_hub: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Path] = []
    original = store.open_hub

    def counting(path: Path | str) -> object:
        opened.append(Path(path))
        return original(path)

    monkeypatch.setattr(store, "open_hub", counting)
    result = runner.invoke(app, ["run", "--method", "all", "--hub", str(tiny_ptm_hub), "--task", "all", "--budget", "3",
                                 "--tau-budgets", "3", "--out", str(tmp_path), "--setting", "n_initial=2",
                                 "--setting", "fit_steps=5", "--setting", "refine_steps=2"])
    assert result.exit_code == 0, result.output
    runnable = [name for name in METHODS.names() if unsuitable(name, {"cnn-s", "resnet-s"}) is None]
    assert "skipping fms-nfn-nocnn" in result.output and f"{2 * len(runnable)} runs written" in result.output
    assert opened == [tiny_ptm_hub] * 3  # planning and its review, then each of the 2 tasks once for all methods


def test_run_bars_keep_each_runs_own_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import time
    from types import SimpleNamespace

    from rich.console import Console

    import fmsbench.cli as cli

    screen = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=screen, force_terminal=True, color_system=None, width=100))
    specs = [SimpleNamespace(label=label, budget=4, method="m") for label in ("ran", "queued")]
    with cli.run_progress(specs, {"queued": 2}) as on_progress:
        time.sleep(1.1)  # the bars exist for a second before the first run reports
        on_progress("ran", 1)
        on_progress("ran", 4)
    final = screen.getvalue().rsplit("\x1b[1A\x1b[2K", 1)[-1]  # the last frame drawn
    lines = dict(line.strip().split(" ", 1) for line in final.splitlines()
                 if line.strip().startswith(("ran", "queued", "all")))
    assert lines["ran"].endswith("4/4 epochs 0:00:00"), "a run's clock starts at its first report"
    assert lines["queued"].endswith("0/2 epochs -:--:--"), "a queued run shows no time; its bar counts to 2"
    assert "4/6 epochs" in lines["all"] and lines["all"].endswith("about 0 s left"), "queued like the finished run"


def test_piped_run_progress_is_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from fmsbench.cli import run_progress

    with run_progress([SimpleNamespace(label="a", budget=4, method="m")]) as on_progress:
        on_progress("a", 4)
    assert capsys.readouterr().out.startswith("runs: 4/4 epochs replayed, ")


def test_no_isolate_runs_in_this_process_with_the_same_numbers(synth_hub: Path, tmp_path: Path) -> None:
    files = []
    for flag in ("--isolate", "--no-isolate"):
        out = tmp_path / flag
        result = runner.invoke(app, ["run", "--method", "gp", "--hub", str(synth_hub), "--budget", "6",
                                     "--tau-budgets", "6", "--setting", "n_initial=3", "--setting", "fit_steps=20",
                                     "--out", str(out), flag])
        assert result.exit_code == 0, result.output
        data = json.loads(next(out.rglob("seed0.json")).read_text())
        files.append((data["steps"][-1]["regret"], data["tau"], [s["config"] for s in data["steps"]]))
    assert files[0] == files[1]
