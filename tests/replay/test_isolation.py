"""Isolation: a method in its own worker learns only what it paid for, whatever it tries, and gives the same
trajectory as in the loop's process."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import thieves
from scripted import Scripted

from fmsbench.hub.benchmark import Benchmark
from fmsbench.replay import replay
from fmsbench.replay.isolation import (
    FOLDER_PREFIX,
    IsolatedMethod,
    MethodWorkerError,
    close_server,
    open_method,
    server_for,
    worker_environment,
)
from fmsbench.replay.seeding import seeded_torch
from fmsbench.replay.trajectory import without_timing
from fmsbench.runs.runner import execute, plan_runs

HUB = "stolen.h5"


@pytest.fixture(scope="module")
def loot(synth_hub: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[bool, dict[str, Any]]:
    """What the thief learnt in the loop's process (False) and isolated (True), with the hub named as the CLI
    would: a relative path in the working directory, in sys.argv and in an environment variable; and "refused":
    the error that stopped each trick."""
    folder = tmp_path_factory.mktemp("hubdir")
    shutil.copy(synth_hub, folder / HUB)
    found = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr(sys, "argv", ["fmsbench", "run", "--method", "thief", "--hub", HUB])
        patch.setenv("FMSBENCH_HUB_UNDER_TEST", str(folder / HUB))
        for isolate in (False, True):
            with Benchmark(HUB) as bench, seeded_torch(0), \
                    open_method(functools.partial(thieves.Thief, 0), 0, isolate=isolate, hidden=(HUB,)) as method:
                replay(method, bench, budget=3)
                found[isolate] = method.settings()
    return found


@pytest.fixture(scope="module")
def finals(synth_hub: Path) -> list[float]:
    return thieves.finals_of_hub_file(synth_hub)


@pytest.mark.parametrize("trick", thieves.TRICKS)
def test_an_isolated_method_learns_nothing_unpaid(loot: dict[bool, dict[str, Any]], trick: str) -> None:
    assert set(loot[True]["loot"]) == set(thieves.TRICKS)
    assert loot[True]["loot"][trick] is None, f"{trick} leaked {loot[True]['loot'][trick]}"


@pytest.mark.parametrize("trick", thieves.HUB_READERS)
def test_each_trick_does_steal_in_the_loops_process(loot: dict[bool, dict[str, Any]], finals: list[float],
                                                    trick: str) -> None:
    """The thief is competent: in the loop's process every hub-reading trick gets the true final accuracies (what
    isolation is for); the interface's own holes are closed in both (the first test)."""
    assert loot[False]["loot"][trick] == pytest.approx(finals)


@pytest.mark.parametrize("isolate", [False, True])
def test_the_interface_refuses_every_trick_with_its_own_checks(loot: dict[bool, dict[str, Any]], isolate: bool) -> None:
    """metric=None, a str subclass and objects that compare like small numbers are refused by the Observation's
    argument checks, in either process; a forged request is refused by the loop's own ledger."""
    refused = {trick: loot[isolate]["refused"].get(trick) for trick in thieves.INTERFACE}
    assert refused == {"metric=None": "TypeError", "metric str subclass": "TypeError",
                       "upto object": "UnpaidReadError", "epoch object": "UnpaidReadError",
                       "forged checkpoint request": "UnpaidReadError" if isolate else None}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="Linux /proc")
def test_what_isolation_does_not_stop_the_loops_proc_entries(synth_hub: Path, finals: list[float]) -> None:
    """Documented, not stopped: the same user may read /proc/<loop pid>/fd (see fmsbench.replay.isolation)."""
    with Benchmark(synth_hub) as bench, open_method(functools.partial(ProcReader, 0), 0, isolate=True,
                                                    hidden=(str(synth_hub),)) as method:
        replay(method, bench, budget=1)
        assert method.settings()["loot"] == pytest.approx(finals)


class ProcReader(thieves.Thief):
    def propose(self, obs):  # noqa: ANN001, ANN201
        server = Path(f"/proc/{os.getppid()}/stat").read_text().rsplit(")", 1)[1].split()
        links = [os.readlink(fd) for fd in Path(f"/proc/{server[1]}/fd").iterdir()]  # the server's parent: the loop
        self.loot = thieves.finals_of_hub_file(next(link for link in links if link.endswith(".h5")))
        return thieves.Proposal(0, 1)


def test_the_worker_environment_does_not_name_the_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("A_HUB", "hubs/x.h5")
    monkeypatch.setenv("ITS_FOLDER", str(tmp_path / "hubs" / "x.h5"))
    monkeypatch.setenv("KEEP", "unrelated")
    environment = worker_environment(["hubs/x.h5"])
    assert "A_HUB" not in environment and "ITS_FOLDER" not in environment and "PWD" not in environment
    assert environment["KEEP"] == "unrelated"
    assert environment["PYTHONPATH"].split(os.pathsep) == [os.path.abspath(entry) for entry in sys.path]


@pytest.mark.parametrize("method", ["dyhpo", "fms-gmn"])
def test_the_same_run_isolated_or_not_gives_bit_identical_trajectories(tiny_ptm_hub: Path, tmp_path: Path,
                                                                     method: str) -> None:
    settings = {"n_initial": "3", "fit_steps": "30", "refine_steps": "5"}
    paths = []
    for isolate in (False, True):
        spec = plan_runs(method, tiny_ptm_hub, "digits", [1], 12, tmp_path / str(isolate), (6, 12), settings,
                         isolate=isolate).specs[0]
        execute(spec)
        paths.append(spec.path)
    assert without_timing(paths[0]) == without_timing(paths[1])
    assert any(step["tau"] for step in without_timing(paths[1])["steps"])  # forecasts crossed the boundary too


class Failing(Scripted):
    def propose(self, obs):  # noqa: ANN001, ANN201
        raise ValueError("the surrogate exploded")


def test_a_method_error_in_the_worker_is_one_line(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench, pytest.raises(MethodWorkerError, match="ValueError: the surrogate exploded"):
        with open_method(functools.partial(Failing, []), 0, isolate=True) as method:
            replay(method, bench, budget=2)


def test_a_worker_that_dies_is_one_line(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench, pytest.raises(MethodWorkerError, match="ended unexpectedly"):
        with open_method(functools.partial(Dying, []), 0, isolate=True) as method:
            replay(method, bench, budget=2)


class Dying(Scripted):
    def propose(self, obs):  # noqa: ANN001, ANN201
        import os

        os._exit(3)


def test_workers_are_forked_from_one_server_and_leave_nothing(hand_hub: Path) -> None:
    first = IsolatedMethod(functools.partial(Scripted, [(0, 1)]), 0)
    second = IsolatedMethod(functools.partial(Scripted, [(0, 1)]), 0)
    server = server_for(())
    assert first._pid != second._pid and not first.has_surrogate
    runs = list(server.folder.iterdir())
    assert len(runs) == 2 and all(not any(run.iterdir()) for run in runs)  # each worker in its own empty folder
    for method in (first, second):
        method.close()
        assert not Path(f"/proc/{method._pid}").exists()
    assert not any(server.folder.iterdir())


def test_a_server_whose_environment_names_the_hub_is_not_reused(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    hub = str(tmp_path / "named.h5")
    before = server_for(())
    assert server_for([hub]) is before  # its environment does not name this hub: reused
    monkeypatch.setenv("NAMES_THE_HUB", hub)
    close_server()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = Path(tempfile.gettempdir()) / f"{FOLDER_PREFIX}{gone.stdout.strip()}-killed"
    live = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
    stale.mkdir()
    named = server_for(())  # started while a variable names the hub ...
    assert not stale.exists() and live.is_dir()  # a killed loop's server folder is removed by the next server
    live.rmdir()
    assert named.environment["NAMES_THE_HUB"] == hub
    fresh = server_for([hub])  # ... so not fit for runs on it
    assert fresh is not named and not named.alive() and "NAMES_THE_HUB" not in fresh.environment
