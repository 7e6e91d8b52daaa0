"""The protocol of a set of results, read from its trajectories: which hub build (fingerprints), tasks, budgets,
seeds and method settings, the commands that reproduce the runs, and the versions involved. A reviewer reads it
to judge the comparison; anyone reruns the commands to check it."""

from __future__ import annotations

import functools
import platform
import shlex
from dataclasses import dataclass
from typing import Any

from fmsbench.methods import METHODS
from fmsbench.provenance import describe
from fmsbench.replay.trajectory import Trajectory
from fmsbench.report.load import method_order
from fmsbench.version import __version__


@dataclass(frozen=True)
class HubFacts:
    """A hub the runs replayed: its recorded path, each task's fingerprint, whether this report could read it
    (`note` says why not), the command that rebuilds it ('' unless it was built from a bundled recipe) and where it
    was built (`provenance.describe`; '' if unknown)."""

    name: str
    path: str
    fingerprints: dict[str, str]
    note: str = ""
    build_command: str = ""
    environment: str = ""


@dataclass(frozen=True)
class Protocol:
    hubs: list[HubFacts]
    seeds: dict[str, str]  # "<hub>/<task>" -> "0-9"
    budgets: list[int]
    tau_budgets: list[int]
    settings: dict[str, list[dict[str, Any]]]  # method -> its distinct settings over runs
    overrides: dict[str, dict[str, Any]]  # method -> settings that differ from the method's defaults
    commands: list[str]
    versions: dict[str, str]
    created: tuple[str, str]
    machines: dict[str, str]  # "hub <name> built with" / "runs replayed with" -> `provenance.describe` lines


def seed_text(seeds: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5' (the form `--seeds` reads)."""
    parts, ordered = [], sorted(set(seeds))
    start = previous = ordered[0] if ordered else 0
    for seed in ordered[1:] + [None]:
        if seed is not None and seed == previous + 1:
            previous = seed
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if seed is not None:
            start = previous = seed
    return ",".join(parts) if ordered else ""


@functools.cache
def _defaults(method: str) -> dict[str, Any]:
    return METHODS.get(method)(0).settings() if method in METHODS else {}


def overrides_of(method: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that differ from the registered method's defaults (all of them for an unknown method)."""
    defaults = _defaults(method.partition(" [")[0])
    return {k: v for k, v in settings.items() if k not in defaults or defaults[k] != v}


def run_commands(trajectories: list[Trajectory], out: str) -> list[str]:
    """`fmsbench run` command lines that rerun these runs into `out` (an experiment arm's runs are rerun by its
    experiment instead, so arms are left out)."""
    groups: dict[tuple, dict[str, set]] = {}
    for t in trajectories:
        meta = t.meta
        if " [" in meta.method:
            continue
        overrides = tuple(sorted((k, str(v)) for k, v in overrides_of(meta.method, meta.settings).items()))
        key = (meta.hub_path, meta.budget, tuple(meta.tau_budgets), overrides)
        group = groups.setdefault(key, {"methods": set(), "tasks": set(), "seeds": set()})
        group["methods"].add(meta.method)
        group["tasks"].add(meta.task)
        group["seeds"].add(meta.seed)
    commands = []
    for (hub, budget, tau_budgets, overrides), group in sorted(groups.items(), key=str):
        words = ["fmsbench", "run", "--method", ",".join(method_order(group["methods"])), "--hub", hub,
                 "--task", ",".join(sorted(group["tasks"])), "--seeds", seed_text(sorted(group["seeds"])),
                 "--budget", str(budget), "--tau-budgets", ",".join(map(str, tau_budgets)), "--out", out]
        for key, value in overrides:
            words += ["--setting", f"{key}={value}"]
        commands.append(shlex.join(words))
    return commands


def versions(trajectories: list[Trajectory]) -> dict[str, str]:
    import torch

    return {"fmsbench (runs)": ", ".join(sorted({t.meta.fmsbench_version for t in trajectories})),
            "fmsbench (this report)": __version__, "torch": torch.__version__, "python": platform.python_version()}


def machines(trajectories: list[Trajectory], hubs: list[HubFacts]) -> dict[str, str]:
    """Where each readable hub was built and the runs were replayed: results repeat exactly only there."""
    unknown = "not recorded (written before fmsbench recorded it)"
    runs = sorted({describe(t.meta.environment) for t in trajectories} - {""})
    return {**{f"hub {h.name} built with": h.environment or unknown for h in hubs if not h.note},
            "runs replayed with": "; ".join(runs) or unknown}


def protocol_of(trajectories: list[Trajectory], hubs: list[HubFacts], commands: list[str]) -> Protocol:
    by_method: dict[str, list[dict[str, Any]]] = {}
    for t in trajectories:
        known = by_method.setdefault(t.meta.method, [])
        if t.meta.settings not in known:
            known.append(t.meta.settings)
    seeds: dict[str, list[int]] = {}
    for t in trajectories:
        seeds.setdefault(f"{t.meta.hub_name}/{t.meta.task}", []).append(t.meta.seed)
    created = sorted(t.meta.created for t in trajectories if t.meta.created) or [""]
    return Protocol(
        hubs=hubs,
        seeds={key: seed_text(value) for key, value in sorted(seeds.items())},
        budgets=sorted({t.meta.budget for t in trajectories}),
        tau_budgets=sorted({b for t in trajectories for b in t.meta.tau_budgets}),
        settings={m: by_method[m] for m in method_order(set(by_method))},
        overrides={m: overrides_of(m, by_method[m][0]) for m in method_order(set(by_method))},
        commands=commands,
        versions=versions(trajectories),
        created=(created[0], created[-1]),
        machines=machines(trajectories, hubs),
    )
