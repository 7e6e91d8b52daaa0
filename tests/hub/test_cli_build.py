from pathlib import Path

from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.recipes import RECIPES_DIR

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
