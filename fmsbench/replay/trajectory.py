"""Trajectory files: one JSON per (method, hub, task, seed) at results/<hub>/<task>/<method>/seed<k>.json.

Format (version 2)::

    {"format": "fmsbench-trajectory", "format_version": 1,
     "meta":  {method, hub_path, hub_name, hub_fingerprint, task, seed, budget, tau_budgets, settings,
               fmsbench_version, y_star, worst_final_val, n_configs, max_epoch, created, wall_seconds},
     "tau":   {"<budget>": {"final": .., "forecast": .., "protocol": .., "next": ..} or null, ...},
     "steps": [{step, config, epoch, cost, cum_epochs, cum_seconds, val_acc, incumbent_val, incumbent_test,
                regret, normalised_regret, fit_seconds, tau}, ...]}

A tau entry is null for a method without a surrogate (or before its first fit); inside it, an undefined tau
(a constant prediction, too few configs) is null too (see `fmsbench.metrics.Taus`).

`TIMING_FIELDS` vary between identical runs; every other number is a function of (hub, method, settings, seed).
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

FORMAT_NAME = "fmsbench-trajectory"
FORMAT_VERSION = 2
TIMING_FIELDS = {"meta": ("created", "wall_seconds"), "steps": ("fit_seconds",)}


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
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT_NAME:
                raise TrajectoryError(f"{source} is not an fmsbench trajectory file")
            if data.get("format_version") != FORMAT_VERSION:
                raise TrajectoryError(
                    f"{source} has trajectory format version {data.get('format_version')}, this fmsbench reads "
                    f"{FORMAT_VERSION}; rerun it"
                )
            steps = [StepRecord(**{k: math.nan if v is None else v for k, v in s.items() if k != "tau"},
                                tau=_taus_from_json(s["tau"])) for s in data["steps"]]
            tau = {int(budget): _taus_from_json(value) for budget, value in data["tau"].items()}
            return cls(RunMeta(**data["meta"]), steps, tau)
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            raise TrajectoryError(f"{source} is not a readable trajectory file ({error}); delete it and rerun") from None

    def save(self, path: Path) -> None:
        write_text_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> Trajectory:
        return cls.from_json(Path(path).read_text(), str(path))


def trajectory_path(out: Path, hub_name: str, task: str, method: str, seed: int) -> Path:
    """Where a run's trajectory goes: always under `out` (each name must be one plain folder name)."""
    names = (safe_name(hub_name, "hub name"), safe_name(task, "task name"), safe_name(method, "method name"))
    return Path(out).joinpath(*names, f"seed{int(seed)}.json")


def _finite(value: Any) -> Any:
    """JSON has no NaN: undefined numbers (tau of a constant prediction, regret before any step) become null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _taus_json(taus: Taus | None) -> dict[str, float | None] | None:
    return None if taus is None else {kind: _finite(taus.of(kind)) for kind in TAU_KINDS}


def _taus_from_json(data: dict[str, float | None] | None) -> Taus | None:
    return None if data is None else Taus(**{kind: math.nan if data[kind] is None else data[kind] for kind in TAU_KINDS})
