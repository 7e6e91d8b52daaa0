"""`fmsbench hub info`: what a hub holds."""

from pathlib import Path

from typer.testing import CliRunner

from fmsbench.cli import app

runner = CliRunner()


def test_hub_info_shows_models_and_tasks(tiny_ptm_hub: Path) -> None:
    result = runner.invoke(app, ["hub", "info", str(tiny_ptm_hub)])
    assert result.exit_code == 0, result.output
    for word in ("ptm-tiny", "cnn-s-seed0", "vit-s-seed0", "digits", "shapes", "8 configs"):
        assert word in result.output
