"""A sweep: methods x hubs x tasks x seeds, planned and run in one call (`fmsbench run`, `fmsbench.run_sweep`).

Defaults make the shortest command useful: no hub given means every hub file in ./hubs (what `fmsbench build-hub`
writes), no task means every task of each hub, and the tau budgets are half the budget and the budget (50 and
100 for the default 100 epochs: the columns of the paper's Table 1), or of what a run can spend on a hub too small
for its budget (every config to the max epoch), so that such runs measure tau too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmsbench.errors import FmsbenchError
from fmsbench.hub.store import HubFile, hub_files
from fmsbench.plugins import load_plugins
from fmsbench.runs.review import PlanReview, review_hub
from fmsbench.runs.runner import ProgressCallback, RunSpec, plan_runs, run_all

DEFAULT_HUBS = Path("hubs")


@dataclass
class SweepPlan:
    """The hubs a sweep uses, its runs in (hub, task, method, seed) order, the methods left out (with why), and
    what is degenerate about the setup (`fmsbench.runs.review`)."""

    hubs: list[Path]
    specs: list[RunSpec]
    skipped: dict[str, str]
    review: PlanReview


def default_tau_budgets(budget: int, spendable: int | None = None) -> tuple[int, ...]:
    """Half and all of what a run spends: the budget, or `spendable` epochs (the whole hub) if fewer."""
    reach = budget if spendable is None else min(budget, spendable)
    return tuple(sorted({max(1, reach // 2), reach}))


def spendable_epochs(hub: HubFile) -> int:
    """Epochs a run can spend on every task of `hub`: each config to the max epoch (the smallest over tasks)."""
    return min(len(hub.configs) * hub.task(task).max_epoch for task in hub.tasks)


def plan_sweep(methods: str | Sequence[str], hubs: Sequence[Path | str] | None = None,
               tasks: str | Sequence[str] | None = None, seeds: Sequence[int] = (0,), budget: int = 100,
               out: Path | str = "results", tau_budgets: Sequence[int] | None = None,
               settings: dict[str, Any] | None = None, plugins: Sequence[Path | str] = (), *,
              isolate: bool = True) -> SweepPlan:
    """Every run of `methods` ('all', names comma-separated, or a list) on `hubs` (default: every hub file in
    ./hubs), `tasks` (default: all of each hub), `seeds`; `plugins` are plugin files to load first; with `isolate`
    each method runs in its own worker process (see fmsbench.replay.isolation)."""
    load_plugins(plugins)
    chosen = _hubs(hubs)
    method_text = methods if isinstance(methods, str) else ",".join(methods)
    task_text = tasks if tasks is None or isinstance(tasks, str) else ",".join(tasks)
    plan = SweepPlan(chosen, [], {}, PlanReview([], {}))
    for hub in chosen:
        with HubFile(hub) as opened:  # once per hub: planning and review
            taus = default_tau_budgets(budget, spendable_epochs(opened)) if tau_budgets is None else tau_budgets
            part = plan_runs(method_text, opened, task_text, list(seeds), budget, Path(out), taus,
                             dict(settings or {}), isolate=isolate)
            review = review_hub(opened, part.specs)
        plan.specs += part.specs
        plan.skipped |= {(name if len(chosen) == 1 else f"{name} on {hub}"): why for name, why in part.skipped.items()}
        plan.review = PlanReview(plan.review.warnings + review.warnings, {**plan.review.epochs, **review.epochs})
    return plan


def run_sweep(methods: str | Sequence[str], hubs: Sequence[Path | str] | None = None,
              tasks: str | Sequence[str] | None = None, seeds: Sequence[int] = (0,), budget: int = 100,
              out: Path | str = "results", tau_budgets: Sequence[int] | None = None,
              settings: dict[str, Any] | None = None, plugins: Sequence[Path | str] = (), jobs: int = 1,
              on_progress: ProgressCallback | None = None, executor: str = "local",
              address: str | None = None, isolate: bool = True) -> list[Path]:
    """Plan (see `plan_sweep`) and run every unfinished run with `jobs` workers; the trajectory file of every run
    of the sweep, finished before or now."""
    plan = plan_sweep(methods, hubs, tasks, seeds, budget, out, tau_budgets, settings, plugins, isolate=isolate)
    run_all(plan.specs, jobs, on_progress, executor=executor, address=address)
    return [spec.path for spec in plan.specs]


def _hubs(hubs: Sequence[Path | str] | None) -> list[Path]:
    if hubs:
        return [Path(hub) for hub in hubs]
    found = hub_files(DEFAULT_HUBS)
    if not found:
        raise FmsbenchError(f"nothing to run on: {DEFAULT_HUBS}/ holds no fmsbench hubs; build one with "
                            "`fmsbench build-hub ptm` or name one with hub", parameters=("hub",))
    return found
