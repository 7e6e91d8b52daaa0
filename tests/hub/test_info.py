"""`fmsbench hub info`: what a hub holds, what its data allow, what is degenerate about it."""

from pathlib import Path

import torch
from typer.testing import CliRunner

from fmsbench.cli import app

runner = CliRunner()


def test_hub_info_shows_models_tasks_and_headroom(tiny_ptm_hub: Path) -> None:
    result = runner.invoke(app, ["hub", "info", str(tiny_ptm_hub)])
    assert result.exit_code == 0, result.output
    for word in ("ptm-tiny", "cnn-s-seed0", "vit-s-seed0", "digits", "shapes", "8 configs", "at chance",
                 "flat curves", "Headroom: what the data of each task allow", "noise ceiling", "ptm-tiny/digits"):
        assert word in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) > 100, "piped tables keep their width"
    assert "…" not in result.stdout
    built_with = " ".join(result.stdout.split())
    assert f"built with torch {torch.__version__} (CPU kernels {torch.backends.cpu.get_cpu_capability()})" in built_with


def test_hub_info_says_when_an_older_hub_has_no_environment(hand_hub: Path) -> None:
    result = runner.invoke(app, ["hub", "info", str(hand_hub), "--no-headroom"])
    assert "built with an environment not recorded" in " ".join(result.stdout.split())


def test_hub_info_warns_of_chance(hand_hub: Path) -> None:
    result = runner.invoke(app, ["hub", "info", str(hand_hub), "--no-headroom"])
    assert result.exit_code == 0, result.output
    assert "Headroom" not in result.stdout and "0.000 (at chance)" in result.stdout
    warnings = " ".join(result.stderr.split())
    assert "task main: 67% of 3 configs end at chance" in warnings and "mlp-s-seed0 ends pretraining at chance" in warnings
