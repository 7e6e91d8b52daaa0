"""Assemble a report from trajectories: the summary and rank tests, the hubs' headroom, caveats, the protocol, the
tables and (if asked) the figures. Renderers draw a `Report`; nothing here formats text for a terminal."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fmsbench.build.recipe import RECIPES_DIR
from fmsbench.errors import FmsbenchError, UnknownNameError
from fmsbench.hub.headroom import Headroom, file_headroom, hub_warnings
from fmsbench.hub.store import HubFile
from fmsbench.provenance import describe
from fmsbench.replay.trajectory import Trajectory
from fmsbench.report import hubview
from fmsbench.report.budgets import choose_budgets
from fmsbench.report.caveats import cell_caveats, run_caveats, twin_caveats
from fmsbench.report.figures import (
    Figure,
    plot_critical_difference,
    plot_rank_epochs,
    plot_regret_epochs,
    plot_regret_seconds,
    plot_tau_budget,
)
from fmsbench.report.load import group_runs, load_results, method_order
from fmsbench.report.protocol import HubFacts, Protocol, protocol_of, run_commands
from fmsbench.report.stats import RankTest
from fmsbench.report.summary import rank_rows, rank_tests, summarise, surrogate_methods
from fmsbench.report.tables import TableView, table_views


@dataclass
class Report:
    """Everything a renderer draws. `summary`: long format, one row per (metric, hub, task, method, budget)."""

    summary: pd.DataFrame
    tests: list[RankTest]
    tables: list[TableView]
    caveats: list[str]
    protocol: Protocol
    headroom: dict[tuple[str, str], Headroom]
    figures: list[Figure] = field(default_factory=list)
    trajectories: list[Trajectory] = field(default_factory=list, repr=False)

    @property
    def plots(self) -> list[Path]:
        return [figure.path for figure in self.figures]


def build_report(results_dir: Path, budgets: list[int] | None = None, tau: bool = True, regret: bool = True,
                 plot: bool = False, out: Path | None = None, methods: list[str] | None = None,
                 report_command: str = "") -> Report:
    """Load, check and summarise the trajectories under `results_dir` (of `methods`, default all) at `budgets`
    (default: those the runs reached, see `reached_budgets`); write figures to `out` (default RESULTS_DIR/plots)
    if asked. `report_command` (the command line that asked for this report) joins the protocol's commands."""
    trajectories = load_results(results_dir)
    if methods:
        found = method_order({t.meta.method for t in trajectories})
        for name in methods:
            if name not in found:
                raise UnknownNameError(f"no results for method '{name}' in {results_dir}; found: {', '.join(found)}")
        trajectories = [t for t in trajectories if t.meta.method in methods]
    commands = run_commands(trajectories, str(results_dir)) + ([report_command] if report_command else [])
    budgets, notes = choose_budgets(trajectories, budgets)
    report = report_of(trajectories, budgets, tau=tau, regret=regret, commands=commands,
                       plots=(out or Path(results_dir) / "plots") if plot else None)
    if tau and not (report.summary.metric == "tau").any():
        planned = sorted({b for t in trajectories for b in t.meta.tau_budgets})
        notes.append(f"no run measured Kendall's tau at budget {', '.join(map(str, budgets))}: runs measure it when "
                     f"they reach their tau budgets (here {', '.join(map(str, planned))}), and only methods with a "
                     "surrogate do")
    report.caveats = notes + report.caveats  # what the report left out, read with the other caveats
    return report


def report_of(trajectories: list[Trajectory], budgets: list[int], *, tau: bool = True, regret: bool = True,
              plots: Path | None = None, commands: list[str] | None = None) -> Report:
    """The report of `trajectories` at `budgets`, with figures written to `plots` unless it is None; `commands`
    reproduce the runs (default: `fmsbench run` lines into results/), after the `fmsbench build-hub` of every hub
    built from a bundled recipe."""
    tests = rank_tests(trajectories, budgets, tau=tau, regret=regret)
    summary = summarise(trajectories, budgets, tau=tau, regret=regret)
    summary = pd.concat([summary, rank_rows(tests)], ignore_index=True) if tests else summary
    hubs, headroom, hub_caveats = _hubs(trajectories)
    caveats = hub_caveats + run_caveats(trajectories) + twin_caveats(trajectories) + cell_caveats(summary)
    builds = [h.build_command for h in hubs if h.build_command]
    protocol = protocol_of(trajectories, hubs,
                           builds + (run_commands(trajectories, "results") if commands is None else commands))
    report = Report(summary, tests, table_views(summary, tests), caveats, protocol, headroom,
                    trajectories=trajectories)
    if plots is not None:
        report.figures = _figures(report, Path(plots), tau=tau, regret=regret)
    return report


def _hubs(trajectories: list[Trajectory]) -> tuple[list[HubFacts], dict[tuple[str, str], Headroom], list[str]]:
    """Each hub's facts; for every hub file this report can read (the same build the runs replayed), each task's
    headroom and the hub's caveats."""
    facts, headroom, caveats = [], {}, []
    for name in sorted({t.meta.hub_name for t in trajectories}):
        runs = [t for t in trajectories if t.meta.hub_name == name]
        fingerprints = {t.meta.task: t.meta.hub_fingerprint for t in runs}
        path = runs[0].meta.hub_path
        note, build, environment = _readable(path, fingerprints), "", ""
        if not note:
            headroom.update({(name, task): file_headroom(path, task) for task in sorted(fingerprints)})
            with HubFile(path) as hub:
                caveats += hub_warnings(hub, sorted(fingerprints))
                build, environment = _build_command(hub), describe(hub.environment)
        facts.append(HubFacts(name, path, dict(sorted(fingerprints.items())), note, build, environment))
    return facts, headroom, caveats


def _build_command(hub: HubFile) -> str:
    """`fmsbench build-hub` of the bundled recipe the hub was built from ('' if its recipe is not bundled as is)."""
    bundled = RECIPES_DIR / f"{hub.recipe_name}.toml"
    if bundled.is_file() and bundled.read_text() == hub.recipe_text:
        return shlex.join(["fmsbench", "build-hub", hub.recipe_name, "--out", str(hub.path.parent)])
    return ""


def _readable(path: str, fingerprints: dict[str, str]) -> str:
    """'' if `path` is the hub build the runs replayed, else why headroom and hub figures are left out."""
    if not Path(path).exists():
        return f"hub file {path} not found from here: headroom and hub figures left out"
    try:
        with HubFile(path) as hub:
            changed = [t for t, f in fingerprints.items() if t not in hub.tasks or hub.fingerprint(t) != f]
    except FmsbenchError as error:
        return f"{error}: headroom and hub figures left out"
    if changed:
        return (f"hub file {path} is not the build the runs replayed (task(s) {', '.join(changed)} differ): "
                "headroom and hub figures left out")
    return ""


def _figures(report: Report, out: Path, *, tau: bool, regret: bool) -> list[Figure]:
    groups = group_runs(report.trajectories)
    figures: list[Figure | None] = []
    surrogates = surrogate_methods(report.trajectories)
    for hub in sorted({h for h, _, _ in groups}):
        if regret:
            figures += [plot_regret_epochs(groups, hub, out), plot_regret_seconds(groups, hub, out)]
        if tau:
            figures.append(plot_tau_budget(groups, hub, surrogates, report.headroom, out))
    ranked = next((t for t in report.tests if t.metric == "regret"), None)
    if ranked is not None:
        figures.append(plot_rank_epochs(groups, list(ranked.ranks.index), out))
    figures += [plot_critical_difference(report.tests, metric, out) for metric in ("regret", "tau")]
    for facts in report.protocol.hubs:
        if facts.note:
            continue
        tasks = list(facts.fingerprints)
        runs: dict[str, list[Trajectory]] = {}
        for (hub_name, _, method), method_runs in groups.items():
            if hub_name == facts.name:
                runs.setdefault(method, []).extend(method_runs)
        with HubFile(facts.path) as hub:
            figures += [hubview.plot_curves_by_architecture(hub, tasks, out),
                        hubview.plot_final_vs_hyperparameters(hub, tasks, out),
                        hubview.plot_paid_configs(hub, tasks, runs, out)]
    return [f for f in figures if f is not None]
