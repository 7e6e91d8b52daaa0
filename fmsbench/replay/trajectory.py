"""Trajectory files: one JSON per (method, hub, task, seed) at results/<hub>/<task>/<method>/seed<k>.json.

Format (version 2)::

    {"format": "fmsbench-trajectory", "format_version": 1,
     "meta":  {method, hub_path, hub_name, hub_fingerprint, task, seed, budget, tau_budgets, settings,
               fmsbench_version, y_star, worst_final_val, n_configs, max_epoch, created, wall_seconds,
               environment (`fmsbench.provenance`; {} in files written before it was recorded)},
     "tau":   {"<budget>": {"final": .., "forecast": .., "protocol": .., "next": ..} or null, ...},
     "steps": [{step, config, epoch, cost, cum_epochs, cum_seconds, val_acc, incumbent_val, incumbent_test,
                regret, normalised_regret, fit_seconds, tau}, ...]}

A tau entry is null for a method without a surrogate (or before its first fit); inside it, an undefined tau
(a constant prediction, too few configs) is null too (see `fmsbench.metrics.Taus`).

`TIMING_FIELDS` vary between identical runs; every other number is a function of (hub, method, settings, seed) on
one machine (across machines the floating-point results depend on meta's environment).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fmsbench.atomic import write_text_atomic
from fmsbench.errors import FmsbenchError
from fmsbench.metrics import TAU_KINDS, Taus
from fmsbench.paths import safe_name
from fmsbench.tomlconfig import build

FORMAT_NAME = "fmsbench-trajectory"
FORMAT_VERSION = 2
TIMING_FIELDS = {"meta": ("created", "wall_seconds"), "steps": ("fit_seconds",)}


def without_timing(path: Path) -> dict[str, Any]:
    """A trajectory file's content without the fields that time the run: what two runs of one command must share."""
    data = json.loads(Path(path).read_text())
    for key in TIMING_FIELDS["meta"]:
        data["meta"].pop(key)
    for step in data["steps"]:
        for key in TIMING_FIELDS["steps"]:
            step.pop(key)
    return data


class TrajectoryError(FmsbenchError):
    """A trajectory file that is unreadable, foreign, or does not match the run or hub it is used for."""

    exit_code = 2


@dataclass
class StepRecord:
    """One paid proposal: `config` advanced to `epoch` at a cost of `cost` epochs."""

    step: int
    config: int
    epoch: int
    cost: int
    cum_epochs: int
    cum_seconds: float
    val_acc: float
    incumbent_val: float
    incumbent_test: float
    regret: float
    normalised_regret: float
    fit_seconds: float
    tau: Taus | None = None


@dataclass
class RunMeta:
    method: str
    hub_path: str
    hub_name: str
    hub_fingerprint: str
    task: str
    seed: int
    budget: int
    tau_budgets: list[int]
    settings: dict[str, Any]
    fmsbench_version: str
    y_star: float
    worst_final_val: float
    n_configs: int
    max_epoch: int
    created: str = ""
    wall_seconds: float = 0.0
    environment: dict[str, str] = field(default_factory=dict)


@dataclass
class Trajectory:
    meta: RunMeta
    steps: list[StepRecord]
    tau: dict[int, Taus | None] = field(default_factory=dict)

    def tau_at(self, budget: int, kind: str = "final") -> float:
        """One kind of tau at a tau budget; NaN if not measured (no surrogate yet, or not a tau budget)."""
        taus = self.tau.get(budget)
        return math.nan if taus is None else taus.of(kind)

    def column(self, name: str) -> list[Any]:
        """One field of every step, in order (e.g. "cum_epochs", "regret")."""
        return [getattr(step, name) for step in self.steps]

    def to_json(self) -> str:
        data = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "meta": asdict(self.meta),
            "tau": {str(budget): _taus_json(value) for budget, value in self.tau.items()},
            "steps": [{**{k: _finite(v) for k, v in asdict(step).items()}, "tau": _taus_json(step.tau)}
                      for step in self.steps],
        }
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = "<string>") -> Trajectory:
        """Parse and check a trajectory (every field's type, at least one step): TrajectoryError on anything else."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise TrajectoryError(f"{source} is not a readable trajectory file ({error}); delete it and rerun") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise TrajectoryError(f"{source} is not an fmsbench trajectory file")
        if data.get("format_version") != FORMAT_VERSION:
            raise TrajectoryError(
                f"{source} has trajectory format version {data.get('format_version')}, this fmsbench reads "
                f"{FORMAT_VERSION}; rerun it"
            )
        file = build(_File, data, source, error=TrajectoryError)
        if not file.steps:
            raise TrajectoryError(f"{source} has no steps (a run pays for at least one epoch); delete it and rerun")
        steps = [build(StepRecord, {**_nan_for_null(step), "tau": None}, f"{source}: steps[{index}]",
                       error=TrajectoryError) for index, step in enumerate(file.steps)]
        for index, (step, raw) in enumerate(zip(steps, file.steps)):
            step.tau = _taus_from_json(raw.get("tau"), f"{source}: steps[{index}]: tau")
        tau = {}
        for budget, value in file.tau.items():
            if not budget.isdigit():
                raise TrajectoryError(f"{source}: tau: budget {budget!r} is not a whole number of epochs")
            tau[int(budget)] = _taus_from_json(value, f"{source}: tau: {budget}")
        return cls(build(RunMeta, file.meta, f"{source}: meta", error=TrajectoryError), steps, tau)

    def save(self, path: Path) -> None:
        write_text_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> Trajectory:
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise TrajectoryError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); it is not a "
                                  "trajectory file: delete it and rerun") from None
        return cls.from_json(text, str(path))


@dataclass
class _File:
    """The top level of a trajectory file, as read (meta and steps are checked as RunMeta and StepRecord)."""

    format: str
    format_version: int
    meta: dict[str, Any]
    tau: dict[str, Any]
    steps: list[dict[str, Any]]


def trajectory_path(out: Path, hub_name: str, task: str, method: str, seed: int) -> Path:
    """Where a run's trajectory goes: always under `out` (each name must be one plain folder name)."""
    names = (safe_name(hub_name, "hub name"), safe_name(task, "task name"), safe_name(method, "method name"))
    return Path(out).joinpath(*names, f"seed{int(seed)}.json")


def _finite(value: Any) -> Any:
    """JSON has no NaN: undefined numbers (tau of a constant prediction, regret before any step) become null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _taus_json(taus: Taus | None) -> dict[str, float | None] | None:
    return None if taus is None else {kind: _finite(taus.of(kind)) for kind in TAU_KINDS}


def _nan_for_null(data: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `_finite`: null numbers are NaN (a field that must not be NaN then fails its type check)."""
    return {key: math.nan if value is None else value for key, value in data.items()}


def _taus_from_json(data: Any, where: str) -> Taus | None:
    return None if data is None else build(Taus, _nan_for_null(data) if isinstance(data, dict) else data, where,
                                           error=TrajectoryError)
