"""The local pool: progress reports reach the caller, and no process outlives a killed parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fmsbench.executors.local import LocalExecutor


def _square_reporting(job: int, report) -> int:  # noqa: ANN001
    for step in range(3):
        report((job, step))
    return job * job


def test_every_report_arrives_before_its_job_is_yielded() -> None:
    seen: list[tuple[int, int]] = []
    results = []
    for result in LocalExecutor(workers=2).run(_square_reporting, [1, 2, 3], seen.append):
        results.append(result)
        assert (int(result**0.5), 2) in seen  # the last report of the finished job is already there
    assert sorted(results) == [1, 4, 9] and sorted(seen) == [(j, s) for j in (1, 2, 3) for s in range(3)]


def _group(pgid: int) -> list[int]:
    """Live processes of process group `pgid` (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from Linux's /proc")
def test_no_process_or_folder_outlives_a_run_finished_or_killed(synth_hub: Path, tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"  # where the method servers make their folders
    temporary.mkdir()
    environment = {**os.environ, "TMPDIR": str(temporary)}
    command = [sys.executable, "-m", "fmsbench", "run", "--method", "dyhpo", "--hub", str(synth_hub), "--jobs", "2",
               "--out", str(tmp_path / "out")]
    finished = subprocess.run([*command, "--seeds", "0-1", "--budget", "4"], env=environment, capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert not any(temporary.iterdir()), "a finished run left temporary folders"

    process = subprocess.Popen([*command, "--seeds", "2-5", "--budget", "40"], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while len(_group(process.pid)) < 6 and time.time() < deadline and process.poll() is None:
        time.sleep(0.1)  # the command, 2 pool workers, the resource tracker, the pool workers' method servers
    time.sleep(2)  # runs in progress
    assert process.poll() is None, "the runs should still be going"
    assert len(_group(process.pid)) >= 6, _group(process.pid)
    os.kill(process.pid, signal.SIGKILL)  # the main process only, as an out-of-memory kill would
    process.wait()
    deadline = time.time() + 20
    while (_group(process.pid) or any(temporary.iterdir())) and time.time() < deadline:
        time.sleep(0.2)
    assert not _group(process.pid), "processes outlived the killed run"
    assert not any(temporary.iterdir()), "the killed run left temporary folders"
