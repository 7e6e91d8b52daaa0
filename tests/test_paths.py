"""Names that become paths are plain names, and outputs below a regular file are refused before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.errors import PathError
from fmsbench.paths import output_folder, safe_name, unsafe_reason
from fmsbench.replay.trajectory import trajectory_path

runner = CliRunner()


@pytest.mark.parametrize("name", ["", " ", ".", "..", "a/b", "../x", "/abs", "a\\b", "tab\there", "nul\0"])
def test_unsafe_names_are_refused(name: str) -> None:
    assert unsafe_reason(name) is not None
    with pytest.raises(PathError, match="cannot be used as a file or folder name"):
        safe_name(name, "task name")


@pytest.mark.parametrize("name", ["ptm", "fms-gmn", "vit held out", "a.b", "...", "ünïcode"])
def test_plain_names_pass(name: str) -> None:
    assert safe_name(name, "task name") == name


@pytest.mark.parametrize("parts", [("../x", "t", "m"), ("h", "/etc", "m"), ("h", "t", "../../m")])
def test_a_trajectory_path_stays_under_out(tmp_path: Path, parts: tuple[str, str, str]) -> None:
    with pytest.raises(PathError):
        trajectory_path(tmp_path, *parts, seed=0)


def test_an_output_folder_under_a_regular_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(PathError, match="is under .*file, which is a regular file"):
        output_folder(tmp_path / "file" / "sub", "out")
    with pytest.raises(PathError, match="out .*file is a regular file"):
        output_folder(tmp_path / "file")
    assert output_folder(tmp_path / "new" / "sub") == tmp_path / "new" / "sub"


def _one_line(result) -> str:  # noqa: ANN001
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("command", ["run", "build-hub", "export", "experiment"])
def test_every_command_refuses_an_out_under_a_regular_file(tmp_path: Path, synth_hub: Path, command: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = str(blocker / "out")
    args = {"run": ["run", "--method", "random", "--hub", str(synth_hub), "--out", out],
            "build-hub": ["build-hub", "ptm-tiny", "--out", out],
            "export": ["hub", "export", str(synth_hub), "--format", "csv", "--out", out],
            "experiment": ["experiment", "ci", "--results", out]}[command]
    message = _one_line(runner.invoke(app, args))
    flag = "--results" if command == "experiment" else "--out"
    assert f"{flag} {out} is under {blocker}, which is a regular file" in message
    assert blocker.read_text() == "x"
