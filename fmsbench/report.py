"""Tables and plots from trajectory files: Kendall's tau and regret per method, hub/task and budget.

Layout of the paper's Table 1 (Mehta et al. 2024, arXiv 2406.18630): rows = methods in the order of the method
registry (then any others, alphabetically), columns = hub/task x budget, cells = mean ± standard error over seeds.
Metric definitions come from `fmsbench.metrics`; this module only gathers, aggregates and renders.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from fmsbench.atomic import atomic_path
from fmsbench.errors import FmsbenchError, UnknownNameError
from fmsbench.methods import METHODS
from fmsbench.metrics import DEFINITIONS, TAU_KINDS, average_rank, mean_and_sem, values_at_budgets
from fmsbench.registry import Registry
from fmsbench.replay.trajectory import Trajectory

REGRET_METRICS = ("regret", "normalised_regret", "incumbent_test")
TAU_METRICS = {"final": "tau", "forecast": "tau_forecast", "protocol": "tau_protocol", "next": "tau_next"}
COLUMNS = ["metric", "hub", "task", "method", "budget", "mean", "sem", "n"]
REGRET_FLOOR = 1e-4  # log-scale plots cannot show zero regret


class ResultsError(FmsbenchError):
    """A results folder that is missing, empty, or mixes results of different hubs."""

    exit_code = 2


@dataclass
class Report:
    """Long-format summary (one row per metric, hub, task, method, budget) and the plots written."""

    summary: pd.DataFrame
    plots: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line each, e.g. budgets left out


def method_order(names: set[str] | list[str]) -> list[str]:
    """Registered methods in registry order (`fmsbench methods`), then any others alphabetically; an experiment
    arm's variant "<method> [<label>]" follows its method."""
    registered = METHODS.names()

    def key(name: str) -> tuple[int, str, str]:
        base, _, label = name.partition(" [")
        rank = registered.index(base) if base in registered else len(registered)
        return rank, base, label

    return sorted(set(names), key=key)


# --------------------------------------------------------------------------- loading
def load_results(results_dir: Path) -> list[Trajectory]:
    """Every trajectory under `results_dir` (laid out <hub>/<task>/<method>/seed<k>.json; deeper folders such as an
    experiment's arms/ are not read), checked for consistency."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultsError(f"results folder {results_dir} does not exist; run `fmsbench run --out {results_dir}` first")
    files = sorted(results_dir.glob("*/*/*/seed*.json"))
    if not files and any(results_dir.rglob("seed*.json")):
        raise ResultsError(f"{results_dir} holds trajectories, but not as <hub>/<task>/<method>/seed<k>.json; "
                           "give the results root folder (the --out of `fmsbench run`)")
    if not files:
        raise ResultsError(f"no trajectories (seed*.json) under {results_dir}; run `fmsbench run --out {results_dir}` first")
    trajectories = [Trajectory.load(path) for path in files]
    builds: dict[tuple[str, str], tuple[str, Path]] = {}
    for path, trajectory in zip(files, trajectories, strict=True):
        meta = trajectory.meta
        expected = (meta.hub_name, meta.task, meta.method, f"seed{meta.seed}.json")
        actual = path.parts[-4:]
        if tuple(actual) != expected:
            raise ResultsError(f"{path} holds {'/'.join(expected)} of hub '{meta.hub_name}'; it is misplaced")
        first = builds.setdefault((meta.hub_name, meta.task), (meta.hub_fingerprint, path))
        if first[0] != meta.hub_fingerprint:
            raise ResultsError(
                f"{path} and {first[1]} come from different builds of hub '{meta.hub_name}' (task {meta.task}); "
                "rerun one of them on the same hub file"
            )
    return trajectories


# --------------------------------------------------------------------------- aggregation
def _runs(trajectories: list[Trajectory]) -> dict[tuple[str, str, str], list[Trajectory]]:
    groups: dict[tuple[str, str, str], list[Trajectory]] = {}
    for t in trajectories:
        groups.setdefault((t.meta.hub_name, t.meta.task, t.meta.method), []).append(t)
    return groups


def _at_budget(trajectory: Trajectory, column: str, budget: int) -> float:
    """A step field at cumulative budget B; NaN if the run's budget is below B."""
    if budget > trajectory.meta.budget:
        return math.nan
    return float(values_at_budgets(trajectory.column("cum_epochs"), trajectory.column(column), [budget])[0])


def summarise(trajectories: list[Trajectory], budgets: list[int], tau: bool = True, regret: bool = True) -> pd.DataFrame:
    """Mean, standard error and seed count of each metric per (hub, task, method, budget), plus average ranks."""
    rows = []
    for (hub, task, method), runs in _runs(trajectories).items():
        for budget in budgets:
            if tau:
                for kind in TAU_KINDS:
                    rows.append([TAU_METRICS[kind], hub, task, method, budget,
                                 *mean_and_sem([t.tau_at(budget, kind) for t in runs])])
            if regret:
                for metric in REGRET_METRICS:
                    rows.append([metric, hub, task, method, budget,
                                 *mean_and_sem([_at_budget(t, metric, budget) for t in runs])])
    summary = pd.DataFrame(rows, columns=COLUMNS)
    if tau:
        has_tau = summary[summary.metric == "tau"].groupby("method")["n"].sum()
        summary = summary[~summary.metric.isin(TAU_METRICS.values()) | summary.method.map(has_tau > 0)]
    if regret:
        summary = pd.concat([summary, _rank_rows(trajectories, budgets)], ignore_index=True)
    return summary.reset_index(drop=True)


def _rank_rows(trajectories: list[Trajectory], budgets: list[int]) -> pd.DataFrame:
    """Average rank over every (hub, task) of each method's mean regret, on the seeds every method ran."""
    groups = _runs(trajectories)
    tasks = sorted({(hub, task) for hub, task, _ in groups})
    if len(tasks) < 2:
        return pd.DataFrame(columns=COLUMNS)
    methods = method_order({method for _, _, method in groups})
    rows = []
    for budget in budgets:
        scores = pd.DataFrame(index=methods, columns=[f"{h}/{t}" for h, t in tasks], dtype=float)
        for hub, task in tasks:
            runs = {m: {t.meta.seed: t for t in groups.get((hub, task, m), [])} for m in methods}
            seeds = set.intersection(*(set(r) for r in runs.values()))
            for method in methods:
                values = [_at_budget(runs[method][s], "regret", budget) for s in sorted(seeds)]
                scores.loc[method, f"{hub}/{task}"] = np.mean(values) if values else math.nan
        for method, rank in average_rank(scores).items():
            rows.append(["average_rank", "", "", method, budget, rank, math.nan, len(tasks)])
    return pd.DataFrame(rows, columns=COLUMNS)


# --------------------------------------------------------------------------- plots
def plot_regret(trajectories: list[Trajectory], out: Path) -> list[Path]:
    """One PNG per hub: mean regret ± standard error against cumulative epochs, log y, one panel per task;
    plus the average rank per epoch when the hub has several tasks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _runs(trajectories)
    colours = _colours({method for _, _, method in groups})
    written = []
    for hub in sorted({h for h, _, _ in groups}):
        tasks = sorted({t for h, t, _ in groups if h == hub})
        figure, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.6), squeeze=False)
        means: dict[str, pd.DataFrame] = {}
        for axis, task in zip(axes[0], tasks, strict=True):
            methods = method_order({m for h, t, m in groups if (h, t) == (hub, task)})
            grid = np.arange(1, max(r.meta.budget for m in methods for r in groups[(hub, task, m)]) + 1)
            table = pd.DataFrame(index=grid)
            for method in methods:
                seeds = pd.DataFrame([values_at_budgets(r.column("cum_epochs"), r.column("regret"), grid)
                                      for r in groups[(hub, task, method)]], columns=grid)
                mean, sem = seeds.mean().to_numpy(), seeds.sem().fillna(0.0).to_numpy()  # NaN before the first step
                table[method] = mean
                line, = axis.plot(grid, np.maximum(mean, REGRET_FLOOR), label=method, color=colours[method])
                axis.fill_between(grid, np.maximum(mean - sem, REGRET_FLOOR), np.maximum(mean + sem, REGRET_FLOOR),
                                  color=line.get_color(), alpha=0.2)
            means[task] = table
            axis.set(yscale="log", title=f"{hub} / {task}", xlabel="cumulative epochs",
                     ylabel=f"regret (floored at {REGRET_FLOOR:g})")
        axes[0][-1].legend(fontsize="small")
        written.append(_save(figure, Path(out) / f"regret_{hub}.png"))
        if len(tasks) > 1:
            written.append(_plot_ranks(means, hub, Path(out) / f"rank_{hub}.png", colours))
    return written


def _colours(methods: set[str]) -> dict[str, object]:
    """One colour per method, the same in every panel and plot (tab20: distinct for up to 20 methods)."""
    import matplotlib

    palette = matplotlib.colormaps["tab20"]
    return {method: palette(index % palette.N) for index, method in enumerate(method_order(methods))}


def _plot_ranks(means: dict[str, pd.DataFrame], hub: str, path: Path, colours: dict[str, object]) -> Path:
    import matplotlib.pyplot as plt

    ranks = sum(table.rank(axis=1) for table in means.values()) / len(means)
    figure, axis = plt.subplots(figsize=(5, 3.6))
    for method in method_order(set(ranks.columns)):
        axis.plot(ranks.index, ranks[method], label=method, color=colours[method])
    axis.set(title=f"{hub}: average rank over {len(means)} tasks", xlabel="cumulative epochs", ylabel="rank (1 = best)")
    axis.legend(fontsize="small")
    return _save(figure, path)


def _save(figure: object, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.tight_layout()  # type: ignore[attr-defined]
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)  # type: ignore[attr-defined]
    plt.close(figure)  # type: ignore[arg-type]
    return path


# --------------------------------------------------------------------------- budgets
def _spent(trajectory: Trajectory) -> int:
    return trajectory.steps[-1].cum_epochs if trajectory.steps else 0


def reached_budgets(trajectories: list[Trajectory]) -> list[int]:
    """The budgets the runs reached: each run's tau budgets up to the epochs it spent, and those epochs (its
    budget, or less when it trained every config to the end first)."""
    return sorted({b for t in trajectories for b in (*t.meta.tau_budgets, _spent(t)) if 0 < b <= _spent(t)})


def choose_budgets(trajectories: list[Trajectory], budgets: list[int] | None) -> tuple[list[int], list[str]]:
    """`budgets` without those beyond every run, and a note naming them; None: the budgets the runs reached."""
    if budgets is None:
        return reached_budgets(trajectories), []
    longest = max(_spent(t) for t in trajectories)
    beyond = [b for b in budgets if b > longest]
    kept = [b for b in budgets if b <= longest]
    listed = ", ".join(map(str, beyond))
    if not kept:
        raise ResultsError(f"no run reached {listed} epochs (the longest spent {longest}); choose budgets up to "
                           f"{longest}, or leave them out for the ones the runs reached", parameters=("budgets",))
    notes = [f"budget {listed} left out: beyond every run (the longest spent {longest} epochs)"] if beyond else []
    return kept, notes


# --------------------------------------------------------------------------- building and rendering
def build_report(results_dir: Path, budgets: list[int] | None = None, tau: bool = True, regret: bool = True,
                 plot: bool = False, out: Path | None = None, methods: list[str] | None = None) -> Report:
    """Load, check and summarise the trajectories under `results_dir` (of `methods`, default all) at `budgets`
    (default: those the runs reached, see `reached_budgets`); write plots to `out` (default RESULTS_DIR/plots)
    if asked."""
    trajectories = load_results(results_dir)
    if methods:
        found = method_order({t.meta.method for t in trajectories})
        for name in methods:
            if name not in found:
                raise UnknownNameError(f"no results for method '{name}' in {results_dir}; found: {', '.join(found)}")
        trajectories = [t for t in trajectories if t.meta.method in methods]
    budgets, notes = choose_budgets(trajectories, budgets)
    report = report_of(trajectories, budgets, tau=tau, regret=regret,
                       plots=(out or Path(results_dir) / "plots") if plot else None)
    if tau and not (report.summary.metric == "tau").any():
        planned = sorted({b for t in trajectories for b in t.meta.tau_budgets})
        notes.append(f"no run measured Kendall's tau at budget {', '.join(map(str, budgets))}: runs measure it when "
                     f"they reach their tau budgets (here {', '.join(map(str, planned))}), and only methods with a "
                     "surrogate do")
    report.notes = notes
    return report


def report_of(trajectories: list[Trajectory], budgets: list[int], *, tau: bool = True, regret: bool = True,
              plots: Path | None = None) -> Report:
    """Summary of `trajectories` at `budgets`, and regret plots written to `plots` unless it is None."""
    report = Report(summarise(trajectories, budgets, tau=tau, regret=regret))
    if plots is not None:
        report.plots = plot_regret(trajectories, plots)
    return report


def _cell(mean: float, sem: float, n: int, digits: int = 3) -> str:
    if n == 0 or not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f}" if not math.isfinite(sem) else f"{mean:.{digits}f} ± {sem:.{digits}f}"


def wide(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows = methods (canonical order), columns = '<hub>/<task> @ <budget>', cells 'mean ± se'."""
    part = summary[summary.metric == metric]
    if part.empty:
        return pd.DataFrame()
    digits = 2 if metric in (*TAU_METRICS.values(), "average_rank") else 3
    labels = part.apply(lambda r: f"{r.hub}/{r.task} @ {r.budget}" if r.hub else f"all tasks @ {r.budget}", axis=1)
    cells = [_cell(m, s, n, digits) for m, s, n in zip(part["mean"], part["sem"], part["n"], strict=True)]
    table = pd.DataFrame({"method": part.method.to_numpy(), "column": labels.to_numpy(), "cell": cells})
    columns = list(dict.fromkeys(table.column))
    pivot = table.pivot(index="method", columns="column", values="cell")
    return pivot.reindex(index=method_order(set(pivot.index)), columns=columns).fillna("–")


_TITLES = {"tau": "Kendall's tau-b (ours: predicted vs true final validation accuracy, all configs)",
           "tau_forecast": "Forecast tau (configs started but not finished)",
           "tau_next": "Next-epoch tau (prediction at b_c + 1, unfinished configs)",
           "tau_protocol": "Released code's protocol tau (finished configs by their true value)",
           "regret": "Regret", "normalised_regret": "Normalised regret",
           "incumbent_test": "Incumbent test accuracy", "average_rank": "Average rank over tasks (regret)"}


def _tables(report: Report) -> list[tuple[str, pd.DataFrame]]:
    present = list(dict.fromkeys(report.summary.metric))
    return [(_TITLES[m], wide(report.summary, m)) for m in _TITLES if m in present]


def rich_tables(report: Report) -> list[Table]:
    tables = []
    for title, frame in _tables(report):
        table = Table(title=title, title_justify="left")
        table.add_column("method", style="bold")
        for column in frame.columns:
            table.add_column(column.replace(" @ ", "\n") + " epochs", justify="right")
        for method, row in frame.iterrows():
            table.add_row(Text(str(method)), *row.tolist())  # Text: a label like "[transfer]" is not markup
        tables.append(table)
    return tables


def definitions_text() -> str:
    return "\n".join(f"- {name}: {text}" for name, text in DEFINITIONS.items())


Renderer = Callable[[Report], str]
RENDERERS: Registry[Renderer] = Registry("report format")  # text formats of `fmsbench report --format`


@RENDERERS.register("table")
def render_table(report: Report) -> str:
    """The rich tables and the definitions as plain text (what `fmsbench report` shows in a terminal)."""
    from rich.console import Console

    console = Console(record=True, width=240, file=io.StringIO())
    for table in rich_tables(report):
        console.print(table)
    console.print(definitions_text(), highlight=False, soft_wrap=True)
    return console.export_text()


@RENDERERS.register("markdown")
def render_markdown(report: Report) -> str:
    parts = []
    for title, frame in _tables(report):
        header = ["method", *frame.columns]
        lines = [f"| {' | '.join(header)} |", f"|{'|'.join(['---'] + ['---:'] * len(frame.columns))}|"]
        lines += [f"| {method} | {' | '.join(row.tolist())} |" for method, row in frame.iterrows()]
        parts.append(f"### {title}\n\n" + "\n".join(lines))
    parts.append("### Definitions\n\n" + definitions_text())
    return "\n\n".join(parts) + "\n"


def render_html(report: Report, title: str, description: str = "", protocol: str = "") -> str:
    """One self-contained HTML page: the tables, the plots inlined as PNG data, the definitions and the protocol."""
    sections = [f"<h1>{html.escape(title)}</h1>"]
    if description:
        sections.append(f"<p>{html.escape(description)}</p>")
    for heading, frame in _tables(report):
        sections.append(f"<h2>{html.escape(heading)}</h2>" + frame.to_html(classes="results", border=0))
    for path in report.plots:
        data = base64.b64encode(Path(path).read_bytes()).decode()
        sections.append(f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{html.escape(path.stem)}</figcaption></figure>")
    definitions = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in DEFINITIONS.items())
    sections.append(f"<h2>Definitions</h2><dl>{definitions}</dl>")
    if protocol:
        sections.append(f"<h2>Protocol</h2><pre>{html.escape(protocol)}</pre>")
    return _HTML_PAGE.format(title=html.escape(title), body="\n".join(sections))


_HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }}
table.results {{ border-collapse: collapse; margin-bottom: 1.5em; }}
table.results th, table.results td {{ padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }}
table.results th:first-child, table.results td:first-child {{ text-align: left; }}
img {{ max-width: 100%; }} pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }} dt {{ font-weight: bold; }}
</style></head><body>
{body}
</body></html>
"""


@RENDERERS.register("csv")
def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    report.summary.to_csv(buffer, index=False)
    return buffer.getvalue()


@RENDERERS.register("json")
def render_json(report: Report) -> str:
    records = json.loads(report.summary.to_json(orient="records"))  # NaN -> null
    return json.dumps({"definitions": DEFINITIONS, "summary": records, "plots": [str(p) for p in report.plots]},
                      indent=1)
