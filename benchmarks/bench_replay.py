"""Replay cost of fms-gmn against dyhpo on one hub task, in one run, plus the GMN's own costs per architecture.

    .venv/bin/python benchmarks/bench_replay.py [--hub hubs/ptm.h5] [--task NAME] [--budget 100] [--seed 0]
                                                [--methods dyhpo,fms-gmn] [--setting KEY=VALUE ...]

Each replay runs in a fresh process (as `fmsbench run` does: seeded, one torch thread), so its peak resident
memory (VmHWM) is its own. Targets (issue 4): fms-gmn wall time <= 3x dyhpo's, peak memory < 4 GiB.
Per architecture of the hub, at the GMN size FMS uses (`fmsbench.weights.gmn.FMS_SIZE`): parameter-graph build time (trace + structure, once per architecture), graph size,
fill time per checkpoint, and GMN forward and forward+backward time per checkpoint in a batch of the hub's
epoch-0 checkpoints. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.store import HubFile
from fmsbench.methods import METHODS
from fmsbench.replay import Observation, replay
from fmsbench.runs.runner import parse_settings, seeded_torch
from fmsbench.weights import FEATURIZERS, STRUCTURES, parameter_graph
from fmsbench.weights.gmn import FMS_SIZE

GIB = 2**30


def timed_replay(hub: str, task: str, method: str, seed: int, budget: int, settings: dict[str, str]) -> dict[str, Any]:
    """One replay, as the runner does it; wall seconds, fitting seconds, final tau and this process's peak RSS."""
    with Benchmark(hub, task) as bench, seeded_torch(seed):
        start = time.perf_counter()
        result = replay(METHODS.get(method)(seed, **settings), bench, budget, tau_budgets=(budget,))
        wall = time.perf_counter() - start
    return {"wall": wall, "fit": sum(s.fit_seconds for s in result.steps), "tau": None if result.tau[budget] is None else result.tau[budget].final,
            "steps": len(result.steps), "peak": peak_rss()}


def peak_rss() -> int:
    """This process's peak resident memory in bytes: Linux's VmHWM (ru_maxrss would also count the parent's memory
    at the fork before the spawn's exec), else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def graph_costs(hub: str, task: str, batch_size: int = 16, repeats: int = 3) -> list[dict[str, Any]]:
    """Per architecture: build time, nodes/edges, fill time and GMN forward (+backward) time per checkpoint."""
    from torch_geometric.data import Batch  # after fmsbench, which silences torch_geometric's import-time warning

    torch.set_num_threads(1)
    rows = []
    with Benchmark(hub, task) as bench:
        obs = Observation(bench, np.zeros(bench.n_configs, np.int64), 0)
        modules = obs.example_modules()
        STRUCTURES.clear()
        for arch_id, module in modules.items():
            start = time.perf_counter()
            graph = parameter_graph(module, max_fan_in=FMS_SIZE["max_fan_in"])
            build = time.perf_counter() - start
            configs = [c for c in range(bench.n_configs) if obs.arch_id(c) == arch_id][:batch_size]
            checkpoints = [obs.checkpoint(c, 0) for c in configs]
            start = time.perf_counter()
            filled = [graph.fill(sd) for sd in checkpoints]
            fill = (time.perf_counter() - start) / len(filled)
            gmn = FEATURIZERS.get("gmn")({arch_id: module}, **FMS_SIZE)
            batch = Batch.from_data_list(filled)
            forward = _per_checkpoint(lambda: gmn.gmn(batch), len(filled), repeats, grad=False)
            both = _per_checkpoint(lambda: gmn.gmn(batch).sum().backward(), len(filled), repeats, grad=True)
            rows.append({"arch": arch_id, "nodes": graph.num_nodes, "edges": filled[0].num_edges, "build": build,
                         "fill": fill, "forward": forward, "forward_backward": both, "batch": len(filled)})
    return rows


def _per_checkpoint(work: Any, n: int, repeats: int, grad: bool) -> float:
    """Best of `repeats` timed calls of `work` after one untimed warm-up call, divided by `n` checkpoints."""
    times = []
    with torch.set_grad_enabled(grad):
        work()
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
    return min(times) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", default="hubs/ptm.h5")
    parser.add_argument("--task", default=None, help="default: the hub's first task")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="dyhpo,fms-gmn", help="comma list; the first is the baseline")
    parser.add_argument("--setting", action="append", default=[],
                        help="KEY=VALUE for every method (e.g. fit_steps=100)")
    args = parser.parse_args()
    with HubFile(args.hub) as hub:
        task = args.task or hub.tasks[0]
    settings = parse_settings(args.setting)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    print(f"hub {args.hub}, task {task}, budget {args.budget} epochs, seed {args.seed}, "
          f"settings {settings or 'defaults'}, torch {torch.__version__}, one thread per replay")

    print(f"\n{'architecture':<14}{'nodes':>7}{'edges':>8}{'build s':>9}{'fill ms':>9}{'fwd ms':>8}{'fwd+bwd ms':>11}"
          "   (per checkpoint, GMN batch of epoch-0 checkpoints)")
    for row in graph_costs(args.hub, task):
        print(f"{row['arch']:<14}{row['nodes']:>7}{row['edges']:>8}{row['build']:>9.3f}{1e3 * row['fill']:>9.2f}"
              f"{1e3 * row['forward']:>8.2f}{1e3 * row['forward_backward']:>11.2f}   (batch {row['batch']})")

    context = multiprocessing.get_context("spawn")  # a fresh process per replay: its own peak memory
    results = {}
    print(f"\n{'method':<12}{'wall s':>9}{'fit s':>9}{'steps':>7}{'tau':>8}{'peak GiB':>10}")
    with context.Pool(1, maxtasksperchild=1) as pool:  # one pool: a second one leaks a semaphore at exit
        for method in methods:
            results[method] = pool.apply(timed_replay, (args.hub, task, method, args.seed, args.budget, settings))
            r = results[method]
            tau = "-" if r["tau"] is None else f"{r['tau']:.3f}"
            print(f"{method:<12}{r['wall']:>9.1f}{r['fit']:>9.1f}{r['steps']:>7}{tau:>8}{r['peak'] / GIB:>10.2f}",
                  flush=True)
    base = methods[0]
    for method in methods[1:]:
        ratio = results[method]["wall"] / results[base]["wall"]
        print(f"{method} / {base} wall time: {ratio:.2f}x (target <= 3x)")
    print(f"peak memory: {max(r['peak'] for r in results.values()) / GIB:.2f} GiB (target < 4 GiB)")


if __name__ == "__main__":
    main()
