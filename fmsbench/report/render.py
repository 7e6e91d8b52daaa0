"""Text renderings of a report: rich tables for a terminal, full-width plain text, markdown, CSV and JSON
(`fmsbench report --format`); the HTML page is `fmsbench.report.page`."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from fmsbench.metrics import DEFINITIONS
from fmsbench.registry import Registry
from fmsbench.report.build import Report
from fmsbench.report.tables import TableView, headroom_view, legend

WIDE = 100_000  # plain text is never cut: a table is as wide as its content


def rich_table(view: TableView) -> RenderableType:
    """The title, the table (the best cell of each column in bold), its caption and notes; title and caption are
    paragraphs of their own, so they wrap at the output's width rather than the table's."""
    table = Table()
    table.add_column(view.row_label, style="bold")
    for column in view.columns:
        table.add_column(column.replace(" @ ", "\n") + (" epochs" if " @ " in column else ""), justify="right")
    for label, cells in view.rows:
        table.add_row(Text(label), *(Text(c.text + c.marks, style="bold" if c.best else "") for c in cells))
    return Group(Text(view.title, style="bold"), table, Text(view.caption, style="dim"),
                 *(Text(note) for note in view.notes), Text(""))


def rich_tables(report: Report) -> list[RenderableType]:
    """Caveats, headroom, then every result table (what `fmsbench report` prints)."""
    room = headroom_view(report.headroom)
    return ([caveats_text(report)] if report.caveats else []) + ([rich_table(room)] if room else []) + [
        Text(legend(report.summary) + "\n", style="dim"), *(rich_table(view) for view in report.tables)]


def caveats_text(report: Report) -> Text:
    text = Text("Caveats:\n", style="bold yellow")
    for caveat in report.caveats:
        text.append(f"- {caveat}\n")
    return text


def definitions_text() -> str:
    return "\n".join(f"- {name}: {text}" for name, text in DEFINITIONS.items())


Renderer = Callable[[Report], str]
RENDERERS: Registry[Renderer] = Registry("report format")  # text formats of `fmsbench report --format`


@RENDERERS.register("table")
def render_table(report: Report) -> str:
    """The rich tables and the definitions as plain text at full width (piped output is never cut)."""
    console = Console(record=True, width=WIDE, file=io.StringIO())
    for renderable in rich_tables(report):
        console.print(renderable)
    console.print(definitions_text(), highlight=False, soft_wrap=True)
    return console.export_text()


def _md(text: str) -> str:
    """Text as markdown shows it verbatim: "y*" must not start emphasis, "|" not end a cell."""
    return text.replace("*", "\\*").replace("_", "\\_").replace("|", "\\|")


def _markdown_table(view: TableView) -> str:
    header = [view.row_label, *view.columns]
    lines = [f"| {' | '.join(map(_md, header))} |", f"|{'|'.join(['---'] + ['---:'] * len(view.columns))}|"]
    for label, cells in view.rows:
        texts = [f"**{_md(c.text)}**{c.marks}" if c.best else _md(c.text) + c.marks for c in cells]
        lines.append(f"| {_md(label)} | {' | '.join(texts)} |")
    notes = "".join(f"\n- {_md(note)}" for note in view.notes)
    return f"### {_md(view.title)}\n\n{_md(view.caption)}\n\n" + "\n".join(lines) + ("\n" + notes if notes else "")


@RENDERERS.register("markdown")
def render_markdown(report: Report) -> str:
    parts = []
    if report.caveats:
        parts.append("### Caveats\n\n" + "\n".join(f"- {_md(c)}" for c in report.caveats))
    room = headroom_view(report.headroom)
    parts += ([_markdown_table(room)] if room else []) + [_md(legend(report.summary))]
    parts += [_markdown_table(view) for view in report.tables]
    parts.append("### Definitions\n\n" + definitions_text())
    return "\n\n".join(parts) + "\n"


@RENDERERS.register("csv")
def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    report.summary.to_csv(buffer, index=False)
    return buffer.getvalue()


@RENDERERS.register("json")
def render_json(report: Report) -> str:
    records = json.loads(report.summary.to_json(orient="records"))  # NaN -> null
    return json.dumps({"definitions": DEFINITIONS, "caveats": report.caveats, "summary": records,
                       "headroom": [_json_safe({"hub": hub, **asdict(room)})
                                    for (hub, _), room in sorted(report.headroom.items())],
                       "plots": [str(p) for p in report.plots]}, indent=1)


def _json_safe(value: Any) -> Any:
    """JSON has no NaN and only string keys."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return None if isinstance(value, float) and not math.isfinite(value) else value
