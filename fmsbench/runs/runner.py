"""Plan and execute replay runs: one trajectory per (method, task, seed), on the same executors as hub builds.

A run is fixed by (hub, task, method, settings, seed, budget): it seeds numpy (the method's generator) and
torch (the global generator, restored afterwards), uses one torch thread and deterministic algorithms, so
the same run gives the same trajectory in any process, the method's own worker included (`isolate`, the
default: fmsbench.replay.isolation). A run whose trajectory file exists is skipped if it
was made from the same hub build with the same budget and settings; otherwise the mismatch is an error
rather than a silent mix of results.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fmsbench.errors import FmsbenchError, UnknownNameError
from fmsbench.executors import EXECUTORS
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.store import HubFile
from fmsbench.methods import METHODS
from fmsbench.methods.base import unsuitable
from fmsbench.paths import output_folder, safe_name
from fmsbench.plugins import load_plugins, loaded_files
from fmsbench.provenance import numeric_environment
from fmsbench.replay.isolation import open_method
from fmsbench.replay.loop import replay
from fmsbench.replay.protocol import Method
from fmsbench.replay.seeding import seeded_torch
from fmsbench.replay.trajectory import RunMeta, Trajectory, TrajectoryError, trajectory_path
from fmsbench.version import __version__

ProgressCallback = Callable[[str, int], None]  # (run label, cumulative epochs so far)


@dataclass(frozen=True)
class RunSpec:
    """Everything that fixes one run's trajectory, plus where it goes, plus the plugin files loaded when it was
    made (the process that executes it loads them again: a plugin method must exist there too)."""

    method: str
    hub: str
    hub_name: str
    fingerprint: str
    task: str
    seed: int
    budget: int
    tau_budgets: tuple[int, ...]
    overrides: tuple[tuple[str, Any], ...]
    out: str
    isolate: bool = True  # the method runs in its own worker process (same trajectory, see replay.isolation)
    plugins: tuple[str, ...] = field(default_factory=loaded_files)

    @property
    def path(self) -> Path:
        return trajectory_path(Path(self.out), self.hub_name, self.task, self.method, self.seed)

    @property
    def label(self) -> str:
        return f"{self.method} {self.task} seed{self.seed}"

    def settings(self) -> dict[str, Any]:
        """The method's full settings (defaults plus overrides), as recorded in the trajectory."""
        return make_method(self.method, self.seed, self.overrides).settings()


def make_method(name: str, seed: int, overrides: tuple[tuple[str, Any], ...], plugins: tuple[str, ...] = ()) -> Method:
    """A registered method with its settings, built in the process that replays it (a worker, if isolated, which
    loads the `plugins` files first: a plugin method must be registered there too)."""
    load_plugins(plugins)
    return METHODS.get(name)(seed, **dict(overrides))


@dataclass
class RunOutcome:
    written: list[RunSpec]
    skipped: list[RunSpec]


# --------------------------------------------------------------------------- parsing
def parse_int_list(text: str, what: str) -> list[int]:
    """'0-4' -> [0, 1, 2, 3, 4]; '50,100' -> [50, 100]; ranges and commas mix ('0-2,7')."""
    values: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise FmsbenchError(f"cannot read {what} '{text}'; write e.g. '0-4' or '0,2,5'") from None
        if last < first:
            raise FmsbenchError(f"the {what} range '{part}' is reversed; write '{last}-{first}'")
        values.extend(range(first, last + 1))
    if not values:
        raise FmsbenchError(f"no {what} given")
    return sorted(set(values))


def parse_settings(items: Sequence[str]) -> dict[str, str]:
    """['n_initial=10', 'fit_steps=200'] -> {'n_initial': '10', 'fit_steps': '200'} (typed by each method)."""
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FmsbenchError(f"cannot read setting '{item}'; write KEY=VALUE, e.g. n_initial=10")
        settings[key.strip()] = value.strip()
    return settings


def resolve_methods(text: str, architectures: set[str]) -> tuple[list[str], dict[str, str]]:
    """The methods of `text` and those 'all' leaves out with the reason (e.g. fms-nfn on a hub of several
    architectures). `text` is 'all' (every method that suits a hub of these architecture ids) or a comma list of
    registered names (each checked, in the order given)."""
    if text.strip() == "all":
        reasons = {name: unsuitable(name, architectures) for name in METHODS.names()}
        skipped = {name: reason for name, reason in reasons.items() if reason}
        names = [name for name in METHODS.names() if name not in skipped]
    else:
        names, skipped = [n.strip() for n in text.split(",") if n.strip()], {}
        for name in names:
            METHODS.get(name)
        if not names:
            raise FmsbenchError("no method given; see `fmsbench methods`")
    for name in names:  # each names a results folder
        safe_name(name, "method name")
    return names, skipped


def resolve_tasks(hub: HubFile, task: str | None) -> list[str]:
    """None or 'all': every task of the hub; else a comma list of task names."""
    if task is None or task.strip() == "all":
        return list(hub.tasks)
    chosen = [t.strip() for t in task.split(",") if t.strip()]
    for name in chosen:
        if name not in hub.tasks:
            raise FmsbenchError(f"hub {hub.path} has no task '{name}'; its tasks are: {', '.join(hub.tasks)}")
    return chosen


def _check_rebuildable(names: Sequence[str]) -> None:
    """An isolated method is rebuilt by name in a fresh interpreter, which knows built-in, installed and plugin-file
    methods only: one that a script or module registered itself exists only in this process."""
    for name in names:
        origin = METHODS.origin(name)
        if origin.startswith("module "):
            raise FmsbenchError(
                f"method '{name}' was registered by {origin}, which an isolated method worker cannot load; put it in a "
                "plugin file (--plugin FILE, or fmsbench.plugins.load_plugins) or run it unisolated (--no-isolate)",
                parameters=("isolate",))


def _overrides_for(methods: list[str], overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Give each method the overrides it knows; a setting that no chosen method knows is an error."""
    known = {m: set(METHODS.get(m)(0).settings()) for m in methods}
    for key in overrides:
        if not any(key in names for names in known.values()):
            choices = sorted(set().union(*known.values()))
            raise UnknownNameError(f"no chosen method has a setting '{key}'; settings: {', '.join(choices)}")
    return {m: {k: v for k, v in overrides.items() if k in known[m]} for m in methods}


@dataclass
class RunPlan:
    """The runs of one command, in (task, method, seed) order, and the methods 'all' left out (with why)."""

    specs: list[RunSpec]
    skipped: dict[str, str]


def plan_runs(methods: str, hub: Path | HubFile, task: str | None, seeds: Sequence[int], budget: int, out: Path,
              tau_budgets: Sequence[int] = (50, 100), overrides: dict[str, Any] | None = None, *,
              isolate: bool = True) -> RunPlan:
    """Every (method, task, seed) run of one command on `hub`, a path (opened once here) or an open HubFile; with
    `isolate` each method runs in its own worker process (see fmsbench.replay.isolation)."""
    if budget < 1:
        raise FmsbenchError(f"budget must be at least 1 epoch, got {budget}", parameters=("budget",))
    output_folder(out, "out")
    if not isinstance(hub, HubFile):
        with HubFile(hub) as opened:
            return plan_runs(methods, opened, task, seeds, budget, out, tau_budgets, overrides, isolate=isolate)
    names, skipped = resolve_methods(methods, {m.arch_id for m in hub.models})
    if isolate:
        _check_rebuildable(names)
    per_method = _overrides_for(names, overrides or {})
    specs = [
        RunSpec(name, str(hub.path), hub.recipe_name, fingerprint, task_name, seed, budget,
                tuple(sorted(set(tau_budgets))), tuple(sorted(per_method[name].items())), str(out), isolate)
        for task_name in resolve_tasks(hub, task)
        for fingerprint in [hub.fingerprint(task_name)]
        for name in names for seed in seeds
    ]
    return RunPlan(specs, skipped)


# --------------------------------------------------------------------------- execution
def is_finished(spec: RunSpec) -> bool:
    """True if `spec.path` holds this very run; an existing file from another hub build or setup is an error."""
    if not spec.path.exists():
        return False
    meta = Trajectory.load(spec.path).meta
    wanted = {"hub_fingerprint": spec.fingerprint, "budget": spec.budget, "tau_budgets": list(spec.tau_budgets),
              "settings": spec.settings()}
    for key, value in wanted.items():
        if getattr(meta, key) != value:
            raise TrajectoryError(
                f"{spec.path} exists with a different {key.replace('_', ' ')} ({getattr(meta, key)} vs {value}); "
                "delete it or choose another --out"
            )
    return True


class OpenBenchmarks:
    """The benchmarks opened by the runs of one process, one per (hub, task): a sweep run here reads each task's
    curves once, however many methods and seeds it replays."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], Benchmark] = {}

    def get(self, hub: str, task: str) -> Benchmark:
        if (hub, task) not in self._open:
            self._open[(hub, task)] = Benchmark(hub, task)
        return self._open[(hub, task)]

    def close(self) -> None:
        for bench in self._open.values():
            bench.close()
        self._open.clear()


def execute(spec: RunSpec, on_progress: ProgressCallback | None = None,
            benchmarks: OpenBenchmarks | None = None) -> Trajectory:
    """Replay one run and write its trajectory atomically; `benchmarks` shares open hubs between runs."""
    load_plugins(spec.plugins)
    owned = benchmarks is None
    benchmarks = OpenBenchmarks() if benchmarks is None else benchmarks
    try:
        return _execute(spec, benchmarks.get(spec.hub, spec.task), on_progress)
    finally:
        if owned:
            benchmarks.close()


def _execute(spec: RunSpec, bench: Benchmark, on_progress: ProgressCallback | None) -> Trajectory:
    factory = functools.partial(make_method, spec.method, spec.seed, spec.overrides, spec.plugins)
    with seeded_torch(spec.seed), open_method(factory, spec.seed, isolate=spec.isolate, hidden=(spec.hub,)) as method:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        start = time.perf_counter()
        result = replay(method, bench, spec.budget, tau_budgets=spec.tau_budgets,
                        on_step=None if on_progress is None else lambda s: on_progress(spec.label, s.cum_epochs))
        meta = RunMeta(
            method=spec.method, hub_path=spec.hub, hub_name=bench.hub_name, hub_fingerprint=spec.fingerprint,
            task=spec.task, seed=spec.seed, budget=spec.budget, tau_budgets=list(spec.tau_budgets),
            settings=method.settings(), fmsbench_version=__version__, y_star=bench.best_val,
            worst_final_val=bench.worst_final_val, n_configs=bench.n_configs, max_epoch=bench.max_epoch,
            created=created, wall_seconds=time.perf_counter() - start, environment=numeric_environment(),
        )
    trajectory = Trajectory(meta, result.steps, result.tau)
    trajectory.save(spec.path)
    return trajectory


def run_all(specs: Sequence[RunSpec], jobs: int = 1, on_progress: ProgressCallback | None = None, *,
            executor: str = "local", address: str | None = None) -> RunOutcome:
    """Execute every unfinished run on an executor (see fmsbench.executors) with `jobs` workers.

    Local with jobs=1 runs in this process; with Ray and no address, `jobs` sizes the local instance. Runs are
    CPU-only (tiny surrogates, deterministic algorithms), so they ask for no GPU. Finished runs are reported to
    `on_progress` as complete before anything runs.
    """
    if jobs < 1:
        raise FmsbenchError(f"jobs must be at least 1, got {jobs}", parameters=("jobs",))
    skipped = [spec for spec in specs if is_finished(spec)]
    pending = [spec for spec in specs if spec not in skipped]
    for spec in skipped if on_progress else ():
        on_progress(spec.label, spec.budget)
    if not pending:
        return RunOutcome(pending, skipped)
    pool = EXECUTORS.get(executor)(workers=jobs, address=address, gpus_per_job=0)
    in_process = executor == "local" and jobs == 1
    benchmarks = OpenBenchmarks() if in_process else None  # workers open their own, run by run
    try:
        if on_progress is None:
            fn, report = functools.partial(execute, benchmarks=benchmarks), None
        else:
            fn = functools.partial(_execute_reporting, benchmarks=benchmarks)
            report = lambda message: on_progress(*message)  # noqa: E731
        with pool:
            for _ in pool.run(fn, pending, report):
                pass  # each run has written its own trajectory
    finally:
        if benchmarks is not None:
            benchmarks.close()
    return RunOutcome(pending, skipped)


def _execute_reporting(spec: RunSpec, report: Callable[[tuple[str, int]], None],
                       benchmarks: OpenBenchmarks | None = None) -> None:
    """`execute` in a worker: progress goes back through the executor's one-argument `report`."""
    execute(spec, lambda label, done: report((label, done)), benchmarks)
