"""Before a sweep runs: what is degenerate about its setup (a budget within a method's initial design or beyond
what the hub can spend, tau budgets never reached, a hub task mostly at chance, a pretrained model at chance), and
how many epochs each run will really spend (a run stops when its task has no config left to train)."""

from __future__ import annotations

from dataclasses import dataclass

from fmsbench.hub.headroom import hub_warnings
from fmsbench.hub.store import HubFile
from fmsbench.report.caveats import merge, setup_caveats
from fmsbench.runs.runner import RunSpec


@dataclass
class PlanReview:
    warnings: list[str]
    epochs: dict[str, int]  # run label -> epochs it will spend: min(budget, configs x max epoch of its task)


def review_plan(specs: list[RunSpec]) -> PlanReview:
    """Read each hub of `specs` once (see `review_hub`)."""
    reviews = []
    for hub_path in dict.fromkeys(spec.hub for spec in specs):
        with HubFile(hub_path) as hub:
            reviews.append(review_hub(hub, [spec for spec in specs if spec.hub == hub_path]))
    return PlanReview([w for r in reviews for w in r.warnings], {k: v for r in reviews for k, v in r.epochs.items()})


def review_hub(hub: HubFile, specs: list[RunSpec]) -> PlanReview:
    """The review of the runs `specs` on the open `hub`; every run's settings are the method's defaults plus its
    overrides."""
    warnings = hub_warnings(hub, list(dict.fromkeys(spec.task for spec in specs)))
    items, epochs = [], {}
    settings: dict[tuple, dict] = {}
    sizes = {task: (len(hub.configs), hub.task(task).max_epoch) for task in hub.tasks}
    for spec in specs:
        n_configs, max_epoch = sizes[spec.task]
        epochs[spec.label] = min(spec.budget, n_configs * max_epoch)
        key = (spec.method, spec.overrides)
        if key not in settings:
            settings[key] = spec.settings()
        for text in setup_caveats(spec.method, spec.budget, spec.tau_budgets, settings[key], n_configs, max_epoch):
            items.append((spec.method, f"{spec.hub_name}/{spec.task}", text))
    return PlanReview(warnings + merge(items), epochs)
