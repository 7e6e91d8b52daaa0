"""The public API: every name importable from fmsbench, resolved on first use, so `import fmsbench` and the CLI's
--help import no torch; `replay` is the function however it is reached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fmsbench

WORKTREE = Path(__file__).resolve().parents[1]


def test_public_names_resolve_to_their_definitions() -> None:
    from fmsbench.hub.benchmark import Benchmark
    from fmsbench.replay.loop import replay
    from fmsbench.replay.observation import Observation
    from fmsbench.replay.protocol import Method, Proposal

    assert (fmsbench.Benchmark, fmsbench.Method, fmsbench.Proposal, fmsbench.Observation) == \
        (Benchmark, Method, Proposal, Observation)
    assert callable(fmsbench.replay) and fmsbench.replay.replay is replay  # the package that is the function
    assert {"Benchmark", "replay", "run_sweep", "load_results", "build_report", "METHODS"} <= set(dir(fmsbench))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fmsbench.nothing  # noqa: B018


def test_import_and_help_load_no_torch() -> None:
    code = ("import sys, fmsbench, fmsbench.cli; from typer.testing import CliRunner; "
            "assert CliRunner().invoke(fmsbench.cli.app, ['run', '--help']).exit_code == 0; "
            "print(sorted(m for m in ('torch', 'pandas', 'h5py', 'optuna') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(WORKTREE)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
