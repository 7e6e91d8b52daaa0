"""The command line as users type it: build-hub, methods, run; results on disk, reruns, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmsbench.build.recipe import RECIPES_DIR
from fmsbench.cli import app
from fmsbench.hub import store

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


def test_methods_lists_the_registry() -> None:
    result = runner.invoke(app, ["methods"])
    assert result.exit_code == 0, result.output
    for name in ("random", "gp", "dyhpo", "dyhpo-nocnn"):
        assert name in result.output


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


def test_run_all_opens_the_hub_once_per_task_plus_once(tiny_ptm_hub: Path, tmp_path: Path,
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
    assert "skipping fms-nfn-nocnn" in result.output and "22 runs written" in result.output  # 11 methods x 2 tasks
    assert opened == [tiny_ptm_hub] * 3  # planning, then each of the 2 tasks once for all 11 methods


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
