"""What isolating methods costs: 100-epoch replays of dyhpo and fms-gmn in the loop's process vs in workers.

    python benchmarks/bench_isolation.py [--hub hubs/ptm-demo.h5] [--task digits] [--seed 0] [--budget 100]

Each mode runs in a fresh Python process that first imports everything a command imports (paid in both modes),
then times `execute` of each run: isolated, that includes starting the method server (once per process, on the
first run) and forking a worker per run. Wall time, and CPU time (user + system) of every process involved: the
loop's, and isolated also the server's and its workers'. On a shared machine CPU time is the steadier measure:
wall time also counts whatever else runs. The trajectories of the two modes must be identical (checked). The last
line gives the ratios isolated / in-process, both methods together. Build the hub first: `fmsbench build-hub
ptm-demo`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ("dyhpo", "fms-gmn")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system seconds of this process (all its threads), or of process `pid` and its reaped children."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def time_runs(hub: Path, task: str, seed: int, budget: int, isolate: bool, out: Path) -> dict[str, list[float]]:
    """[wall, cpu] seconds of each method's run in this process (`execute`, including any worker start)."""
    from fmsbench.replay.isolation import server_for
    from fmsbench.runs.runner import execute, plan_runs

    seconds = {}
    server_cpu = 0.0
    for method in METHODS:
        spec = plan_runs(method, hub, task, [seed], budget, out, (50, 100), isolate=isolate).specs[0]
        wall, cpu = time.perf_counter(), cpu_seconds()
        execute(spec)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        if isolate:  # the server (started by the first run) and the workers it reaped
            total = cpu_seconds(server_for((spec.hub,)).pid)
            cpu, server_cpu = cpu + total - server_cpu, total
        seconds[method] = [wall, cpu]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", type=Path, default=Path("hubs/ptm-demo.h5"))
    parser.add_argument("--task", default="digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--mode", choices=("in-process", "isolated"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:  # one mode, in this fresh process: print its timings as JSON
        print(json.dumps(time_runs(args.hub, args.task, args.seed, args.budget, args.mode == "isolated", args.out)))
        return
    with tempfile.TemporaryDirectory() as folder:
        timings = {}
        for mode in ("in-process", "isolated"):
            command = [sys.executable, __file__, "--hub", str(args.hub), "--task", args.task, "--seed", str(args.seed),
                       "--budget", str(args.budget), "--mode", mode, "--out", str(Path(folder) / mode)]
            timings[mode] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        from fmsbench.replay.trajectory import without_timing

        local = Path(folder) / "in-process"
        same = all(without_timing(path) == without_timing(Path(folder) / "isolated" / path.relative_to(local))
                   for path in local.rglob("*.json"))
    print(f"hub {args.hub} task {args.task} seed {args.seed} budget {args.budget}; identical trajectories: {same}")
    for method in [*METHODS, "both"]:
        local, isolated = ([sum(timings[mode][m][i] for m in METHODS) for i in (0, 1)] if method == "both"
                           else timings[mode][method] for mode in ("in-process", "isolated"))
        print(f"{method:8s} wall {local[0]:7.1f} s -> {isolated[0]:7.1f} s ({isolated[0] / local[0]:.3f})   "
              f"cpu {local[1]:7.1f} s -> {isolated[1]:7.1f} s ({isolated[1] / local[1]:.3f})")
    print(f"ratio isolated / in-process: wall {isolated[0] / local[0]:.3f}, cpu {isolated[1] / local[1]:.3f}")


if __name__ == "__main__":
    main()
