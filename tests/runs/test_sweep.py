"""Sweeps: default hubs (every hub file in ./hubs, other HDF5 files left out), every task, tau budgets at half
and full budget; several hubs in one plan; run_sweep writes and returns every run's trajectory."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import pytest

from fmsbench.errors import FmsbenchError
from fmsbench.hub.store import HubFile, hub_files
from fmsbench.runs.sweep import default_tau_budgets, plan_sweep, run_sweep, spendable_epochs


def test_default_tau_budgets(two_task_hub: Path) -> None:
    assert default_tau_budgets(100) == (50, 100)
    assert default_tau_budgets(31) == (15, 31)
    assert default_tau_budgets(1) == (1,)
    assert default_tau_budgets(100, spendable=24) == (12, 24)  # a hub too small for the budget
    with HubFile(two_task_hub) as hub:
        assert spendable_epochs(hub) == 12 * 4
    assert {s.tau_budgets for s in plan_sweep("random", [two_task_hub], budget=100).specs} == {(24, 48)}


def test_default_hubs_are_the_hub_files_in_hubs(synth_hub: Path, two_task_hub: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FmsbenchError, match="holds no fmsbench hubs") as error:
        plan_sweep("random")
    assert error.value.parameters == ("hub",)
    (tmp_path / "hubs").mkdir()
    shutil.copy(two_task_hub, tmp_path / "hubs" / "duo.h5")
    shutil.copy(synth_hub, tmp_path / "hubs" / "synth.h5")
    with h5py.File(tmp_path / "hubs" / "mnist-zoo.h5", "w") as zoo:
        zoo.attrs["schema"] = "fmsbench-zoo"
    assert hub_files("hubs") == [Path("hubs/duo.h5"), Path("hubs/synth.h5")]
    plan = plan_sweep("random,fms-nfn", seeds=[0, 1], budget=10)
    assert plan.hubs == hub_files("hubs")
    assert [(s.hub_name, s.task, s.method, s.seed) for s in plan.specs if s.seed == 0] == [
        ("duo", "alpha", "random", 0), ("duo", "alpha", "fms-nfn", 0), ("duo", "beta", "random", 0),
        ("duo", "beta", "fms-nfn", 0), ("synth", "main", "random", 0), ("synth", "main", "fms-nfn", 0)]
    assert {s.tau_budgets for s in plan.specs} == {(5, 10)}
    assert plan_sweep("all", budget=10).skipped == {}  # every method suits these one-architecture hubs


def test_run_sweep_returns_every_trajectory(two_task_hub: Path, tmp_path: Path) -> None:
    paths = run_sweep(["random", "hyperband"], [two_task_hub], tasks=["beta"], seeds=[0, 1], budget=8,
                      out=tmp_path)
    assert sorted(paths) == sorted(tmp_path / "duo" / "beta" / m / f"seed{s}.json"
                                   for m in ("random", "hyperband") for s in (0, 1))
    assert all(path.is_file() for path in paths)
    assert run_sweep("random", [two_task_hub], tasks="beta", budget=8, out=tmp_path) == paths[:1]
