"""The command-line face of fmsbench: each command parses, calls one library function, renders with rich.

Library errors (FmsbenchError) become one red line and a non-zero exit; `--debug` shows the traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fmsbench.errors import FmsbenchError

app = typer.Typer(help="Checkpoint-aware HPO benchmark suite: build hubs, replay methods, report tau and regret.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
hub_app = typer.Typer(help="Inspect built hubs.", no_args_is_help=True)
app.add_typer(hub_app, name="hub")
console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn FmsbenchError (and Ctrl-C) into one line on stderr and an exit code, unless --debug."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FmsbenchError as error:
            if _state["debug"]:
                raise
            err_console.print(f"[bold red]error:[/] {error}", highlight=False)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: finished work is kept; rerun the same command to resume")
            sys.exit(130)

    return wrapper


@app.command("build-hub")
@friendly_errors
def build_hub_command(
    recipe: Annotated[str, typer.Argument(help="Bundled recipe (simple-cnn, ptm, *-tiny, *-paper) or a .toml path.")],
    recipe_option: Annotated[str | None, typer.Option("--recipe", help="Alias of RECIPE (overrides it).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the hub file <recipe name>.h5.")] = Path("hubs"),
    data_root: Annotated[str | None, typer.Option(help="Where real datasets live (default $FMSBENCH_DATA_ROOT or ~/.cache/fmsbench/data).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    keep_shards: Annotated[bool, typer.Option(help="Keep per-job shard files after packing.")] = False,
) -> None:
    """Train the recipe's pretrained pool and fine-tuning grid and pack every curve and checkpoint into one HDF5 hub.

    Interrupt it any time: rerunning the same command resumes and skips finished jobs.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from fmsbench.hub.build import build_hub
    from fmsbench.errors import RecipeError
    from fmsbench.recipes import KINDS, load_recipe

    spec = load_recipe(recipe_option or recipe)
    if recipe_option and recipe in KINDS and spec.kind != recipe:
        raise RecipeError(f"{recipe_option} is a '{spec.kind}' recipe, not a '{recipe}' one")
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        bars: dict[str, Any] = {}

        def on_progress(phase: str, done: int, total: int) -> None:
            if phase not in bars:
                bars[phase] = progress.add_task(phase, total=total)
            progress.update(bars[phase], completed=done)

        report = build_hub(spec, out, data_root=data_root, workers=workers, on_progress=on_progress,
                           keep_shards=keep_shards)
    if report.jobs_run == 0:
        console.print(f"[green]{report.path}[/] is already built from this recipe; nothing to do")
        return
    rate = report.images / report.train_seconds if report.train_seconds else 0.0
    console.print(
        f"[green]built {report.path}[/] ({report.size_bytes / 2**20:.1f} MiB): {report.jobs_run} jobs run, "
        f"{report.jobs_skipped} reused, {report.wall_seconds:.0f} s wall, {rate:,.0f} training images/s per worker"
    )


@hub_app.command("info")
@friendly_errors
def hub_info_command(hub: Annotated[Path, typer.Argument(help="Hub file (.h5).")]) -> None:
    """Summarise a hub: models, configs, tasks, epochs, accuracy ranges, size on disk."""
    from rich.table import Table

    from fmsbench.hub.info import summarize_hub

    summary = summarize_hub(hub)
    console.print(
        f"[bold]{summary.path}[/]  recipe [cyan]{summary.recipe_name}[/] ({summary.kind}), "
        f"{summary.n_configs} configs, {len(summary.models)} models, weights {summary.weights_dtype}, "
        f"{summary.size_bytes / 2**20:.1f} MiB, built {summary.created} by fmsbench {summary.fmsbench_version}"
    )
    models = Table("model", "arch", "size", "parameters", "pretrain val acc", title="pretrained pool")
    for m in summary.models:
        models.add_row(m["id"], m["arch"], m["size"], f"{m['parameters']:,}", f"{m['pretrain_val_acc']:.3f}")
    console.print(models)
    tasks = Table("task", "dataset", "epochs", "train/val/test", "final val acc min / median / max", "best test acc",
                  title="fine-tuning tasks")
    for t in summary.tasks:
        tasks.add_row(t.name, t.dataset, str(t.max_epoch), f"{t.n_train}/{t.n_val}/{t.n_test}",
                      f"{t.final_val_min:.3f} / {t.final_val_median:.3f} / {t.final_val_max:.3f}", f"{t.best_test:.3f}")
    console.print(tasks)
