"""Bad hub files give one-line errors: missing, truncated, foreign, wrong schema version."""

from pathlib import Path

import h5py
import pytest
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.errors import HubError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.info import summarize_hub

runner = CliRunner()


def test_missing_hub(tmp_path: Path) -> None:
    with pytest.raises(HubError, match="does not exist"):
        Benchmark(tmp_path / "none.h5")


def test_truncated_hub_gives_one_line_cli_error(tmp_path: Path, tiny_ptm_hub: Path) -> None:
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(tiny_ptm_hub.read_bytes()[: tiny_ptm_hub.stat().st_size // 2])
    result = runner.invoke(app, ["hub", "info", str(truncated)])
    assert result.exit_code == 2
    assert "rebuild it with `fmsbench build-hub`" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2


def test_foreign_hdf5_file(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as h5:
        h5["x"] = [1, 2, 3]
    with pytest.raises(HubError, match="not an fmsbench hub"):
        summarize_hub(foreign)


def test_newer_schema_version_is_refused(tmp_path: Path, tiny_ptm_hub: Path) -> None:
    copy = tmp_path / "copy.h5"
    copy.write_bytes(tiny_ptm_hub.read_bytes())
    with h5py.File(copy, "a") as h5:
        h5.attrs["schema_version"] = 99
    with pytest.raises(HubError, match="schema version 99"):
        Benchmark(copy, "digits")


def test_hub_info_shows_models_and_tasks(tiny_ptm_hub: Path) -> None:
    result = runner.invoke(app, ["hub", "info", str(tiny_ptm_hub)])
    assert result.exit_code == 0, result.output
    for word in ("ptm-tiny", "cnn-s-seed0", "vit-s-seed0", "digits", "shapes", "8 configs"):
        assert word in result.output


def test_unknown_task_is_named(tiny_ptm_hub: Path) -> None:
    with pytest.raises(Exception, match="its tasks are: digits, shapes"):
        Benchmark(tiny_ptm_hub, "cifar10")
