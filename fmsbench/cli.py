"""The command-line face of fmsbench: each command parses, calls one library function, renders with rich.

Library errors (FmsbenchError) become one red line and a non-zero exit; `--debug` shows the traceback.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from fmsbench.atomic import write_text_atomic
from fmsbench.errors import FmsbenchError
from fmsbench.progress import LogLines, SweepClock, duration
from fmsbench.provenance import describe
from fmsbench.version import __version__

app = typer.Typer(help="Checkpoint-aware HPO benchmark suite: build hubs, replay methods, report tau and regret.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
hub_app = typer.Typer(help="Inspect built hubs.", no_args_is_help=True)
app.add_typer(hub_app, name="hub")
console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}
# Choices of single-valued options, written out so that --help needs no heavy import; tests/test_cli.py checks
# them against the registries they name (EXECUTORS, EXPORTERS, RENDERERS).
ExecutorName = Literal["local", "ray"]
ExportFormat = Literal["syne-tune", "csv"]
ReportFormat = Literal["table", "markdown", "csv", "json"]
PluginOption = Annotated[list[Path] | None, typer.Option(
    "--plugin", help="A Python file that registers methods, datasets, architectures or featurizers (repeatable); "
                     "installed plugin packages load by themselves.")]
IsolateOption = Annotated[bool, typer.Option(
    "--isolate/--no-isolate", help="Run each method in its own worker process that holds only what it paid for "
                                   "(same numbers; README: Security).")]


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"fmsbench {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    _state["debug"] = debug


def in_flags(error: FmsbenchError) -> str:
    """The error's message with the parameters it names written as this command's flags (budget -> --budget)."""
    context = click.get_current_context(silent=True)
    options = {param.name: param.opts[0] for param in (context.command.params if context else [])
               if isinstance(param, click.Option)}
    text = str(error)
    for name in error.parameters:
        flag = options.get(name, "--" + name.replace("_", "-"))
        text = re.sub(rf"(?<![\w/\\-]){re.escape(name)}(?![\w/\\])", flag, text)  # not inside a path
    return text


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn FmsbenchError (and Ctrl-C) into one line on stderr and an exit code, unless --debug."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FmsbenchError as error:
            if _state["debug"]:
                raise
            err_console.print(f"[bold red]error:[/] {escape(in_flags(error))}", highlight=False, soft_wrap=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: finished work is kept; rerun the same command to resume")
            sys.exit(130)

    return wrapper


def show(*renderables: Any) -> None:
    """Print to stdout: in a terminal at its width; piped into a file or another program, at the content's own
    width (tables are never cut to 80 columns)."""
    target = console if console.is_terminal else Console(width=100_000, file=console.file, highlight=False)
    for renderable in renderables:
        target.print(renderable)


def warn(lines: list[str]) -> None:
    """Caveats on stderr, one per line, so piped tables stay clean."""
    for line in lines:
        err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def build_progress() -> Iterator[Callable[[Any], None]]:
    """A bar per build phase (pretrain, finetune), or log lines when output is not a terminal; yields the callback
    `build_hub` reports `BuildProgress` to."""
    if not console.is_terminal:
        log = LogLines(lambda line: console.print(line, highlight=False, soft_wrap=True))
        yield lambda p: log.update(p.phase, p.done, p.total, "jobs",
                                   f"{p.images / p.elapsed:,.0f} training images/s" if p.elapsed else "")
        return
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        bars: dict[str, Any] = {}

        def on_progress(report: Any) -> None:
            if report.phase not in bars:
                bars[report.phase] = progress.add_task(report.phase, total=report.total)
            progress.update(bars[report.phase], completed=report.done)

        yield on_progress


@contextlib.contextmanager
def run_progress(specs: list[Any], epochs: dict[str, int] | None = None,
                 jobs: int = 1) -> Iterator[Callable[[str, int], None]]:
    """A bar per run: epochs spent of what it will spend (`epochs`, default its budget), and the run's own elapsed
    time, counted from its first report (a queued run shows none; run_all reports finished runs as done before
    anything runs), under a bar of all runs with the time left (`SweepClock`, `jobs` runs at a time); or log
    lines when output is not a terminal. Yields the progress callback."""
    totals = {spec.label: (epochs or {}).get(spec.label, spec.budget) for spec in specs}
    clock = SweepClock({spec.label: spec.method for spec in specs}, totals, jobs)
    spent: dict[str, int] = {}
    if not console.is_terminal:
        log = LogLines(lambda line: console.print(line, highlight=False, soft_wrap=True))

        def log_progress(label: str, done: int) -> None:
            spent[label] = done
            clock.report(label, done)
            log.update("runs", sum(spent.values()), sum(totals.values()), "epochs replayed", left=clock.left)

        yield log_progress
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("epochs"),
               TimeElapsedColumn(), TextColumn("{task.fields[left]}"))
    with Progress(*columns, console=console) as progress:
        overall = progress.add_task("all runs", total=sum(totals.values()), left="")
        bars = {label: progress.add_task(label, total=total, start=False, left="") for label, total in totals.items()}

        def on_progress(label: str, done: int) -> None:
            if not progress.tasks[bars[label]].started:
                progress.start_task(bars[label])
            progress.update(bars[label], completed=done)
            spent[label] = done
            clock.report(label, done)
            left = clock.left()
            text = "" if left is None else f"{'at least' if left[1] else 'about'} {duration(left[0])} left"
            progress.update(overall, completed=sum(spent.values()), left=text)

        yield on_progress


def print_built(report: Any) -> None:
    if not report.packed:
        console.print(f"[green]{report.path}[/] is already built from this recipe; nothing to do")
        return
    if report.jobs_run == 0:
        console.print(f"[green]packed {report.path}[/] ({report.size_bytes / 2**20:.1f} MiB) from the "
                      f"{report.jobs_skipped} finished jobs of an earlier build; no job needed to run")
        return
    rate = report.images / report.train_seconds if report.train_seconds else 0.0
    console.print(
        f"[green]built {report.path}[/] ({report.size_bytes / 2**20:.1f} MiB): {report.jobs_run} jobs run, "
        f"{report.jobs_skipped} reused, {report.wall_seconds:.0f} s wall, {rate:,.0f} training images/s per worker"
    )
    if report.weak_models:
        console.print(f"[yellow]warning:[/] {len(report.weak_models)} pretrained model(s) end pretraining at no more "
                      f"than twice chance, so their configs fine-tune a barely trained network: "
                      f"{', '.join(report.weak_models)}", soft_wrap=True)


def print_estimate(recipe: Any, device: str, stack: int | None, workers: int | None) -> None:
    from rich.table import Table

    from fmsbench.build.estimate import estimate_build
    from fmsbench.progress import duration

    estimate = estimate_build(recipe, device, stack, workers)
    table = Table("phase", "architecture", "batch", "jobs", "stack", "training images", "train img/s", "eval img/s",
                  "time (one worker)", title=f"{recipe.name} on {estimate.device}: measured rates", title_justify="left")
    for g in estimate.groups:
        table.add_row(g.phase, g.arch_id, str(g.batch_size), str(g.jobs), str(g.stack), f"{g.train_images:,}",
                      f"{g.train_rate:,.0f}", f"{g.eval_rate:,.0f}", duration(g.seconds))
    console.print(table)
    console.print(f"{estimate.jobs} jobs, {estimate.train_images:,} training images; projected wall time with "
                  f"{estimate.workers} worker(s) on {estimate.device}: [bold]{duration(estimate.wall_seconds)}[/] "
                  "(measured rates, jobs spread evenly; dataset preparation and files not included)", soft_wrap=True)


@app.command("build-hub")
@friendly_errors
def build_hub_command(
    recipe: Annotated[str, typer.Argument(help="Bundled recipe (simple-cnn, ptm, *-tiny, *-paper) or a .toml path.")],
    recipe_option: Annotated[str | None, typer.Option("--recipe", help="Alias of RECIPE (overrides it).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the hub file <recipe name>.h5.")] = Path("hubs"),
    data_root: Annotated[str | None, typer.Option(help="Where real datasets live (default $FMSBENCH_DATA_ROOT or ~/.cache/fmsbench/data).")] = None,
    download: Annotated[bool, typer.Option(help="Let torchvision download missing real datasets (needs internet).")] = False,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    keep_shards: Annotated[bool, typer.Option(help="Keep per-job shard files after packing.")] = False,
    executor: Annotated[ExecutorName, typer.Option(help="Where jobs run: local (process pool) or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster: auto or ray://HOST:10001 (default: a local Ray instance).")] = None,
    gpus_per_job: Annotated[float | None, typer.Option(help="Ray: GPUs per training job (default: the cluster's GPUs shared over its CPUs; 0: CPU).")] = None,
    retries: Annotated[int, typer.Option(help="Ray: retries of a failed job.")] = 2,
    device: Annotated[str, typer.Option(help="auto (every visible GPU, else the CPU), cpu, cuda or cuda:N; the local pool runs one worker per GPU.")] = "auto",
    stack: Annotated[int | None, typer.Option(help="Most fine-tuning configs trained at once (1: one at a time; default: 1 on a CPU, as many as fit on a GPU).")] = None,
    estimate: Annotated[bool, typer.Option("--estimate", help="Only plan the build, time a few steps of each group on the device and print the projected wall time.")] = False,
) -> None:
    """Train the recipe's pretrained pool and fine-tuning grid and pack every curve and checkpoint into one HDF5 hub.

    Interrupt it any time: rerunning the same command resumes and skips finished jobs.
    """
    from fmsbench.build.builder import build_hub
    from fmsbench.build.recipe import choose_recipe

    spec = choose_recipe(recipe, recipe_option)
    if estimate:
        print_estimate(spec, device, stack, workers)
        return
    with build_progress() as on_progress:
        report = build_hub(spec, out, data_root=data_root, download=download, workers=workers, executor=executor,
                           address=address, gpus_per_job=gpus_per_job, max_retries=retries,
                           on_progress=on_progress, keep_shards=keep_shards, device=device, stack=stack)
    print_built(report)


@hub_app.command("info")
@friendly_errors
def hub_info_command(
    hub: Annotated[Path, typer.Argument(help="Hub file (.h5).")],
    headroom: Annotated[bool, typer.Option(help="Compute each task's headroom (tau ceilings; seconds per task).")] = True,
    verify: Annotated[bool, typer.Option("--verify", help="Read every dataset and checkpoint once (slow on big hubs).")] = False,
) -> None:
    """Summarise a hub: models, configs, tasks, epochs, accuracy ranges, size on disk, what its data allow (headroom)
    and what is degenerate about it (configs at chance, flat curves, pretrained models at chance)."""
    from rich.table import Table

    from fmsbench.hub.info import summarize_hub
    from fmsbench.report import rich_table
    from fmsbench.report.tables import headroom_view

    summary = summarize_hub(hub, headroom=headroom, verify=verify)
    console.print(
        f"[bold]{summary.path}[/]  recipe [cyan]{summary.recipe_name}[/] ({summary.kind}), "
        f"{summary.n_configs} configs, {len(summary.models)} models, weights {summary.weights_dtype}, "
        f"{summary.size_bytes / 2**20:.1f} MiB, built {summary.created} by fmsbench {summary.fmsbench_version}",
        soft_wrap=True,
    )
    console.print(f"built with {describe(summary.environment) or 'an environment not recorded (an older hub)'}; "
                  "a rebuild elsewhere (another CPU's kernels) gives slightly different numbers", soft_wrap=True)
    if verify:
        console.print("[green]verified[/]: every dataset of the hub, every checkpoint included, was read once")
    models = Table("model", "arch", "size", "parameters", "pretrain val acc", title="pretrained pool")
    for m in summary.models:
        models.add_row(m["id"], m["arch"], m["size"], f"{m['parameters']:,}",
                       f"{m['pretrain_val_acc']:.3f}" + (" (at chance)" if m["at_chance"] else ""))
    tasks = Table("task", "dataset", "epochs", "train/val/test", "final val acc min / median / max", "best test acc",
                  "at chance", "flat curves", title="fine-tuning tasks")
    for t in summary.tasks:
        tasks.add_row(t.name, t.dataset, str(t.max_epoch), f"{t.n_train}/{t.n_val}/{t.n_test}",
                      f"{t.final_val_min:.3f} / {t.final_val_median:.3f} / {t.final_val_max:.3f}", f"{t.best_test:.3f}",
                      f"{t.at_chance:.0%}", f"{t.flat:.0%}")
    show(models, tasks)
    view = headroom_view({(summary.recipe_name, room.task): room for room in summary.headroom})
    if view is not None:
        show(rich_table(view))
    warn(summary.warnings)


@hub_app.command("export")
@friendly_errors
def hub_export_command(
    hub: Annotated[Path, typer.Argument(help="Hub file (.h5).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="syne-tune (a Syne Tune tabular blackbox) or csv (long-format curves).")],
    out: Annotated[Path, typer.Option(help="Folder to write the export into.")],
    checkpoints: Annotated[bool, typer.Option("--checkpoints", help="Also write every checkpoint (checkpoints.h5).")] = False,
) -> None:
    """Export a hub for other tools: a Syne Tune blackbox (one per task) or long-format CSV curves for pandas."""
    from fmsbench.hub.export import export_hub

    report = export_hub(hub, fmt, out, checkpoints=checkpoints)
    console.print(f"[green]exported {hub}[/] as {fmt} to {report.out}: {len(report.tasks)} task(s) "
                  f"({', '.join(report.tasks)}), {report.n_configs} configs, epochs 0..{report.max_epoch}; "
                  f"files: {', '.join(path.name for path in report.files)}", soft_wrap=True)


@app.command("methods")
@friendly_errors
def methods_command(plugin: PluginOption = None) -> None:
    """List the HPO methods `fmsbench run --method` accepts, with where each comes from."""
    from rich.table import Table

    from fmsbench.methods import METHODS, describe
    from fmsbench.methods.base import unavailable
    from fmsbench.plugins import load_plugins

    load_plugins(plugin or [])
    table = Table("method", "origin", "what it is")
    for name in METHODS.names():
        missing = unavailable(name)
        what = escape(describe(name)) + (f" [yellow]({escape(missing)})[/]" if missing else "")
        table.add_row(name, escape(METHODS.origin(name)), what)
    show(table)


@app.command("run")
@friendly_errors
def run_command(
    method: Annotated[str, typer.Option(help="Method name(s), comma-separated, or 'all' (every method that suits the hub); `fmsbench methods` lists them.")],
    hub: Annotated[list[Path] | None, typer.Option(help="Hub file (.h5), repeatable (default: every hub in ./hubs, where build-hub writes).")] = None,
    task: Annotated[str | None, typer.Option(help="Task name(s), comma-separated (default: every task of each hub).")] = None,
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 0-4 or 0,2,5.")] = "0",
    budget: Annotated[int, typer.Option(help="Total budget in epochs per run.")] = 100,
    out: Annotated[Path, typer.Option(help="Results folder: <out>/<hub>/<task>/<method>/seed<k>.json.")] = Path("results"),
    jobs: Annotated[int, typer.Option(help="Runs in parallel processes (one torch thread each).")] = 1,
    tau_budgets: Annotated[str | None, typer.Option(help="Cumulative budgets at which to measure Kendall's tau (default: half the budget and the budget, or of the whole hub when it holds fewer epochs).")] = None,
    setting: Annotated[list[str] | None, typer.Option(help="Method setting KEY=VALUE (repeatable), e.g. n_initial=10.")] = None,
    executor: Annotated[ExecutorName, typer.Option(help="Where runs go: local (process pool) or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster: auto or ray://HOST:10001 (default: a local Ray instance of --jobs CPUs).")] = None,
    plugin: PluginOption = None,
    isolate: IsolateOption = True,
) -> None:
    """Replay HPO methods over hubs: one trajectory per (method, hub, task, seed); finished runs are skipped.

    Without --hub, every hub in ./hubs; without --task, every task of each hub.
    """
    from fmsbench.runs.runner import parse_int_list, parse_settings, run_all
    from fmsbench.runs.sweep import plan_sweep

    plan = plan_sweep(method, hub, task, parse_int_list(seeds, "seeds"), budget, out,
                      None if tau_budgets is None else parse_int_list(tau_budgets, "tau budgets"),
                      parse_settings(setting or []), plugin or [], isolate=isolate)
    if not hub:
        console.print(f"hubs: {', '.join(map(str, plan.hubs))}")
    for name, reason in plan.skipped.items():
        console.print(f"[yellow]skipping {name}[/]: it {reason}")
    warn(plan.review.warnings)
    with run_progress(plan.specs, plan.review.epochs, jobs) as on_progress:
        outcome = run_all(plan.specs, jobs, on_progress, executor=executor, address=address)
    console.print(f"[green]{len(outcome.written)} runs written[/], {len(outcome.skipped)} already finished; "
                  f"results in {out}")


@app.command("report")
@friendly_errors
def report_command(
    results: Annotated[Path, typer.Argument(help="Results folder written by `fmsbench run`.")] = Path("results"),
    tau: Annotated[bool, typer.Option("--tau", help="Kendall's tau table (default: tau and regret).")] = False,
    regret: Annotated[bool, typer.Option("--regret", help="Regret tables (default: tau and regret).")] = False,
    budgets: Annotated[str | None, typer.Option(help="Cumulative budgets (epochs) for the table columns (default: those the runs reached: their tau budgets and the epochs they spent).")] = None,
    plot: Annotated[bool, typer.Option("--plot", help="Write the figures (PNG).")] = False,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="table, markdown, csv or json.")] = "table",
    out: Annotated[Path | None, typer.Option(help="Folder for figures (default RESULTS/plots).")] = None,
    method: Annotated[str | None, typer.Option(help="Only these methods (comma-separated).")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write one self-contained HTML page (tables, figures) here.")] = None,
    export: Annotated[Path | None, typer.Option(help="Also write summary.csv and every run's steps (steps.csv, steps.parquet) to this folder.")] = None,
) -> None:
    """Tables of Kendall's tau and regret (mean ± standard error (n) over seeds), ranks with significance tests,
    each task's headroom, caveats, figures and the results page."""
    import shlex

    from fmsbench import report as reporting
    from fmsbench.runs.runner import parse_int_list

    renderer = reporting.RENDERERS.get(fmt)
    both = not (tau or regret)
    words = ["fmsbench", "report", str(results), *(["--budgets", budgets] if budgets else []),
             *(["--tau"] if tau else []), *(["--regret"] if regret else []), *(["--method", method] if method else []),
             *(["--html", str(html)] if html else []), *(["--export", str(export)] if export else [])]
    result = reporting.build_report(results, None if budgets is None else parse_int_list(budgets, "budgets"),
                                    tau=tau or both,
                                    regret=regret or both, plot=plot or html is not None, out=out,
                                    methods=[m.strip() for m in method.split(",") if m.strip()] if method else None,
                                    report_command=shlex.join(words))
    files = reporting.write_exports(result, export) if export is not None else []
    if html is not None:
        write_text_atomic(html, reporting.render_html(result, f"fmsbench results: {results}", files=files))
    if fmt == "table" and console.is_terminal:
        show(*reporting.rich_tables(result))
        console.print(reporting.definitions_text(), highlight=False, soft_wrap=True)
    else:  # another format, or piped: full-width text rather than tables cut to the terminal's 80 columns
        typer.echo(renderer(result), nl=False)
    if fmt == "csv":  # the one format without its caveats
        warn(result.caveats)
    for path in [*result.plots, *files, *([html] if html else [])]:
        err_console.print(f"wrote [green]{path}[/]", soft_wrap=True)


zoo_app = typer.Typer(help="Import model zoos as pretrained pools for Simple CNN hubs.", no_args_is_help=True)
app.add_typer(zoo_app, name="zoo")


@zoo_app.command("import")
@friendly_errors
def zoo_import_command(
    path: Annotated[Path, typer.Argument(help="Zoo folder in the Unterthiner et al. (2020) layout: weights.npy, metrics.csv(.gz), layout.csv.")],
    out: Annotated[Path | None, typer.Option(help="Imported zoo file (default hubs/<folder>-zoo.h5).")] = None,
    limit: Annotated[int | None, typer.Option(help="Import at most this many models.")] = None,
) -> None:
    """Convert a Keras CNN zoo to simple-cnn models that a Simple CNN recipe uses as its pool (zoo.source = FILE)."""
    from fmsbench.build.zoo_import import describe_skipped, import_zoo

    report = import_zoo(path, out, limit)
    meta, header = report.meta, report.meta.header
    console.print(f"[green]wrote {meta.path}[/]: {len(meta.model_ids)} {header.arch} (size {header.size}) models, "
                  f"{header.in_channels} input channel(s), {header.num_classes} classes, from {report.checkpoints} "
                  f"checkpoints (skipped: {describe_skipped(report.skipped)}); use it as \\[zoo] source = \"{meta.path}\"",
                  soft_wrap=True, highlight=False)


@app.command("experiment")
@friendly_errors
def experiment_command(
    name: Annotated[str | None, typer.Argument(help="Bundled experiment (see the list without NAME) or a .toml path.")] = None,
    results: Annotated[Path, typer.Option(help="Results root: runs are shared with `fmsbench run --out` there.")] = Path("results"),
    hubs: Annotated[Path, typer.Option(help="Folder of hub files; hubs the experiment names are built here if missing.")] = Path("hubs"),
    jobs: Annotated[int, typer.Option(help="Runs in parallel processes (one torch thread each).")] = 1,
    executor: Annotated[ExecutorName, typer.Option(help="Where runs and hub builds go: local or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster: auto or ray://HOST:10001.")] = None,
    report_only: Annotated[bool, typer.Option("--report-only", help="Only rewrite the report from finished runs.")] = False,
    plugin: PluginOption = None,
    isolate: IsolateOption = True,
) -> None:
    """Run one experiment of the paper end to end (hubs, runs, report); without NAME, list the experiments."""
    from rich.table import Table

    from fmsbench import report as reporting
    from fmsbench.build.builder import build_hub
    from fmsbench.build.recipe import load_recipe
    from fmsbench.plugins import load_plugins
    from fmsbench.runs.experiment import experiment_names, load_experiment, run_experiment, write_experiment_report

    load_plugins(plugin or [])
    if name is None:
        table = Table("experiment", "what it is")
        for bundled in experiment_names():
            table.add_row(bundled, load_experiment(bundled).description)
        show(table)
        return
    experiment = load_experiment(name)

    def ensure_hub(recipe: str, folder: Path) -> Path:
        console.print(f"hub [cyan]{recipe}[/]")
        with build_progress() as on_progress:
            built = build_hub(load_recipe(recipe), folder, executor=executor, address=address, on_progress=on_progress)
        print_built(built)
        return built.path

    if not report_only:
        with contextlib.ExitStack() as stack:
            def on_arm(arm: Any, specs: list[Any]) -> Callable[[str, int], None]:
                from fmsbench.runs.review import review_plan

                stack.close()
                console.print(f"arm [cyan]{arm.label or arm.hub}[/]: {len(specs)} runs")
                review = review_plan(specs)
                warn(review.warnings)
                return stack.enter_context(run_progress(specs, review.epochs, jobs))

            outcome = run_experiment(experiment, results, hubs, jobs=jobs, executor=executor, address=address,
                                     ensure_hub=ensure_hub, on_arm=on_arm, isolate=isolate)
        console.print(f"[green]{outcome.written} runs written[/], {outcome.skipped} already finished")
    written = write_experiment_report(experiment, results)
    show(*reporting.rich_tables(written.report))
    console.print(f"report: [green]{written.html}[/] (also {', '.join(p.name for p in written.files)}"
                  f"{', plots/' if written.report.plots else ''} in {written.html.parent})", soft_wrap=True)


@app.command("check")
@friendly_errors
def check_command(
    baseline: Annotated[Path, typer.Option(help="Baseline JSON (committed), e.g. results/baseline.json.")],
    results: Annotated[Path, typer.Option(help="Results root for the check's runs (finished runs are read).")] = Path("results/check"),
    hubs: Annotated[Path, typer.Option(help="Folder of hub files (built here if missing).")] = Path("hubs"),
    experiment: Annotated[str | None, typer.Option(help="With --update: the experiment to baseline (default: the baseline's).")] = None,
    tolerance_tau: Annotated[float | None, typer.Option(help="Allowed drop of mean Kendall's tau (default: the baseline's; its tau_other_machine on another machine).")] = None,
    tolerance_regret: Annotated[float | None, typer.Option(help="Allowed rise of mean final regret (default: the baseline's; its final_regret_other_machine on another machine).")] = None,
    update: Annotated[bool, typer.Option("--update", help="Write the current results as the new baseline.")] = False,
    isolate: IsolateOption = True,
) -> None:
    """CI regression gate: rerun a small experiment and fail when tau or final regret got worse than the baseline."""
    from rich.table import Table
    from rich.text import Text

    from fmsbench.runs.check import run_check

    tolerance = {**({"tau": tolerance_tau} if tolerance_tau is not None else {}),
                 **({"final_regret": tolerance_regret} if tolerance_regret is not None else {})}
    outcome = run_check(baseline, results, hubs, experiment=experiment, tolerance=tolerance, update=update,
                        isolate=isolate)
    console.print(f"experiment [cyan]{outcome.experiment.name}[/]: {outcome.runs.written} runs run, "
                  f"{outcome.runs.skipped} read from {results}")
    if outcome.written is not None:
        console.print(f"[green]wrote {baseline}[/]: {len(outcome.written.measurements)} measurements of experiment "
                      f"{outcome.experiment.name}")
        return
    if outcome.note:
        console.print(f"[yellow]note[/]: {escape(outcome.note)}", soft_wrap=True)
    table = Table("hub", "task", "method", "metric", "baseline", "now", "change", "status",
                  title=f"check against {baseline} (tolerance: tau {outcome.tolerance['tau']:g}, "
                        f"final regret {outcome.tolerance['final_regret']:g})", title_justify="left")
    colours = {"ok": "green", "better": "green", "worse": "bold red", "missing": "bold red"}
    for c in outcome.comparisons:
        now = "–" if c.current is None else f"{c.current:.4f}"
        change = "–" if c.current is None else f"{c.delta:+.4f}"
        table.add_row(*map(Text, c.key), f"{c.baseline:.4f}", now, change, f"[{colours[c.status]}]{c.status}[/]")
    show(table)
    if outcome.regressions:
        console.print(f"[bold red]{len(outcome.regressions)} regression(s)[/] against {baseline}; if the change is "
                      f"intended, record a new baseline with `fmsbench check --baseline {baseline} --update`")
        raise typer.Exit(1)
    console.print(f"[green]no regression[/]: {len(outcome.comparisons)} measurements within tolerance of {baseline}")
