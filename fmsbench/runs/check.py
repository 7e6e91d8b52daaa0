"""`fmsbench check`: a regression gate for CI pipelines.

A baseline file (JSON, committed, e.g. results/baseline.json) names a small experiment and records, per hub,
task and method, the mean over seeds of Kendall's tau at each tau budget and of the final regret (regret at
the run's budget). `check` reruns the experiment (finished runs are read, not rerun) and fails when a method's
tau fell by more than the tau tolerance or its final regret rose by more than the regret tolerance, or when a
baselined (hub, task, method, metric) is missing. Better values pass and are shown as such.

The baseline also records where it was measured (`provenance.numeric_environment`). On another machine (another
CPU, instruction set, torch or numpy) the experiment's tiny hub is built with other kernels and its numbers move
without any change to the code (README, "Reproducibility"), so there the wider `*_other_machine` tolerances apply.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from fmsbench.atomic import write_text_atomic
from fmsbench.errors import FmsbenchError
from fmsbench.metrics import mean_and_sem
from fmsbench.provenance import describe, numeric_environment
from fmsbench.runs.experiment import (
    Experiment,
    ExperimentOutcome,
    experiment_trajectories,
    load_experiment,
    run_experiment,
)
from fmsbench.tomlconfig import build
from fmsbench.version import __version__

FORMAT_NAME = "fmsbench-baseline"
FORMAT_VERSION = 1
DEFAULT_TOLERANCE = {"tau": 0.05, "final_regret": 0.01, "tau_other_machine": 0.35, "final_regret_other_machine": 0.05}
# What decides the check's floating-point results besides the code (not the Python version).
MACHINE_KEYS = ("cpu", "cpu_capability", "gpu", "torch", "numpy")


class BaselineError(FmsbenchError):
    """A baseline file that is missing, unreadable or foreign."""

    exit_code = 2


@dataclass(frozen=True)
class Measurement:
    hub: str
    task: str
    method: str
    metric: str  # "tau@<budget>" or "final_regret"
    value: float

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.hub, self.task, self.method, self.metric


@dataclass
class Baseline:
    experiment: str
    tolerance: dict[str, float]
    measurements: list[Measurement]
    fmsbench_version: str = __version__
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    environment: dict[str, str] = field(default_factory=dict)  # {} in files written before it was recorded

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "experiment": self.experiment,
                           "tolerance": self.tolerance, "fmsbench_version": self.fmsbench_version,
                           "created": self.created, "environment": self.environment,
                           "measurements": [asdict(m) for m in self.measurements]}, indent=1)

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read and check a baseline file (encoding, format, every field's type and value), before any run."""
        if not Path(path).is_file():
            raise BaselineError(f"baseline file {path} does not exist; create it with `fmsbench check --update`")
        try:
            data = json.loads(Path(path).read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BaselineError(f"{path} is not a readable baseline file ({error})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME or data.get("format_version") != FORMAT_VERSION:
            raise BaselineError(f"{path} is not an fmsbench baseline file (version {FORMAT_VERSION})")
        file = build(_BaselineFile, data, str(path), error=BaselineError)
        for kind, value in file.tolerance.items():
            if kind not in DEFAULT_TOLERANCE or not (math.isfinite(value) and value >= 0):
                raise BaselineError(f"{path}: tolerance: {kind} = {value!r}; tolerances are "
                                    f"{', '.join(DEFAULT_TOLERANCE)}, each a number >= 0")
        for index, m in enumerate(file.measurements):
            if not (m.metric == "final_regret" or re.fullmatch(r"tau@\d+", m.metric)) or not math.isfinite(m.value):
                raise BaselineError(f"{path}: measurements[{index}]: metric {m.metric!r} = {m.value!r}; expected "
                                    "final_regret or tau@<budget>, with a finite value")
        return cls(file.experiment, {**DEFAULT_TOLERANCE, **file.tolerance}, file.measurements, file.fmsbench_version,
                   file.created, file.environment)


@dataclass(frozen=True)
class _BaselineFile:
    """A baseline file as written by `Baseline.to_json`."""

    format: str
    format_version: int
    experiment: str
    tolerance: dict[str, float]
    fmsbench_version: str
    created: str
    measurements: list[Measurement]
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    key: tuple[str, str, str, str]
    baseline: float
    current: float | None
    status: str  # "ok", "better", "worse", "missing"

    @property
    def delta(self) -> float:
        return math.nan if self.current is None else self.current - self.baseline


def measure(experiment: Experiment, results: Path) -> list[Measurement]:
    """Mean over seeds of tau at every tau budget and of the final regret, per (hub, task, method)."""
    values: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for trajectory in experiment_trajectories(experiment, results):
        meta = trajectory.meta
        values[(meta.hub_name, meta.task, meta.method, "final_regret")].append(trajectory.steps[-1].regret)
        for budget in trajectory.tau:
            values[(meta.hub_name, meta.task, meta.method, f"tau@{budget}")].append(trajectory.tau_at(budget))
    measurements = [Measurement(*key, mean_and_sem(vals)[0]) for key, vals in sorted(values.items())]
    return [m for m in measurements if math.isfinite(m.value)]  # methods without a surrogate have no tau


def same_machine(recorded: dict[str, str], here: dict[str, str]) -> bool:
    """Whether a baseline recorded in environment `recorded` should repeat exactly `here` ({}: not recorded)."""
    return bool(recorded) and all(recorded.get(key) == here.get(key) for key in MACHINE_KEYS)


def compare(baseline: Baseline, current: list[Measurement]) -> list[Comparison]:
    """One comparison per baselined measurement (with `baseline.tolerance`'s tau and final_regret); a higher tau
    and a lower regret are better."""
    now = {m.key: m.value for m in current}
    comparisons = []
    for base in baseline.measurements:
        value = now.get(base.key)
        if value is None:
            comparisons.append(Comparison(base.key, base.value, None, "missing"))
            continue
        kind = "final_regret" if base.metric == "final_regret" else "tau"
        gain = (value - base.value) * (1 if kind == "tau" else -1)  # positive = better
        status = "worse" if gain < -baseline.tolerance[kind] else "better" if gain > 1e-12 else "ok"
        comparisons.append(Comparison(base.key, base.value, value, status))
    return comparisons


def failed(comparisons: list[Comparison]) -> list[Comparison]:
    return [c for c in comparisons if c.status in ("worse", "missing")]


def write_baseline(path: Path, experiment: str, measurements: list[Measurement],
                   tolerance: dict[str, float] | None = None) -> Baseline:
    baseline = Baseline(experiment, {**DEFAULT_TOLERANCE, **(tolerance or {})}, measurements,
                        environment=numeric_environment())
    write_text_atomic(path, baseline.to_json() + "\n")
    return baseline


@dataclass
class CheckOutcome:
    """What `run_check` did: the experiment it ran, and either the comparisons or the baseline it wrote."""

    experiment: Experiment
    runs: ExperimentOutcome
    tolerance: dict[str, float]  # the tau and final_regret tolerances applied
    comparisons: list[Comparison]
    written: Baseline | None = None
    note: str = ""  # why the other-machine tolerances applied, if they did

    @property
    def regressions(self) -> list[Comparison]:
        return failed(self.comparisons)


def run_check(baseline: Path, results: Path = Path("results/check"), hubs: Path = Path("hubs"), *,
              experiment: str | None = None, tolerance: dict[str, float] | None = None,
              update: bool = False, isolate: bool = True) -> CheckOutcome:
    """Rerun the baseline's experiment (or `experiment`) and compare with the baseline, or, with `update`, record
    its measurements as the new baseline (keeping the old tolerances unless `tolerance` overrides them). The
    baseline is read and checked first; `isolate` runs each method in its own worker process. On another machine
    than the baseline's the `*_other_machine` tolerances apply, unless `tolerance` gives tau or final_regret."""
    previous = None if update and not Path(baseline).exists() else Baseline.load(baseline)
    name = experiment or (previous.experiment if previous else "ci")  # a bundled name or a .toml path
    spec = load_experiment(name)
    runs = run_experiment(spec, results, hubs, isolate=isolate)
    current = measure(spec, results)
    merged = {**(previous.tolerance if previous else DEFAULT_TOLERANCE), **(tolerance or {})}
    if update:
        return CheckOutcome(spec, runs, merged, [], write_baseline(baseline, name, current, merged))
    assert previous is not None
    here, note = numeric_environment(), ""
    applied = {kind: merged[kind] for kind in ("tau", "final_regret")}
    if not same_machine(previous.environment, here):
        where = describe(previous.environment) or "a machine it does not record"
        applied = {kind: (tolerance or {}).get(kind, merged[f"{kind}_other_machine"]) for kind in applied}
        note = (f"the baseline was measured with {where}; this is {describe(here)}. Another machine's kernels "
                "change the check's tiny hub, so the other-machine tolerances apply; record a baseline here "
                "with --update for the tight ones")
    previous.tolerance = applied
    return CheckOutcome(spec, runs, applied, compare(previous, current), note=note)
