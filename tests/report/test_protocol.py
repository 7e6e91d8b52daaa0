"""The protocol: the commands it prints rerun the runs, number for number."""

from __future__ import annotations

import shlex
from pathlib import Path

from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.provenance import describe, numeric_environment
from fmsbench.replay.trajectory import TIMING_FIELDS, Trajectory
from fmsbench.report import build_report
from fmsbench.report.protocol import seed_text

runner = CliRunner()


def test_seed_text() -> None:
    assert seed_text([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8" and seed_text([3]) == "3"


def _numbers(path: Path) -> list[dict]:
    return [{k: v for k, v in vars(s).items() if k not in TIMING_FIELDS["steps"]} for s in Trajectory.load(path).steps]


def test_protocol_commands_reproduce_the_runs(results: Path, tmp_path: Path) -> None:
    protocol = build_report(results, [8]).protocol
    assert list(protocol.seeds.values()) == ["0-2", "0-2"] and protocol.budgets == [8]
    assert protocol.overrides["gp"] == {"n_initial": 5, "fit_steps": 20} and protocol.overrides["random"] == {}
    assert {h.name for h in protocol.hubs} == {"duo"} and all(len(f) == 16 for f in protocol.hubs[0].fingerprints.values())
    assert {"torch", "fmsbench (runs)"} <= set(protocol.versions)
    assert protocol.machines["runs replayed with"] == describe(numeric_environment())  # every run replayed here
    assert protocol.machines["hub duo built with"].startswith("not recorded")  # a synthetic hub, written directly
    assert len(protocol.commands) == 2  # random and hyperband share one command; gp has its own settings
    for command in protocol.commands:
        words = shlex.split(command)
        words[words.index("--out") + 1] = str(tmp_path)
        result = runner.invoke(app, words[1:])
        assert result.exit_code == 0, result.output
    for path in results.rglob("seed*.json"):
        assert _numbers(tmp_path / path.relative_to(results)) == _numbers(path)
