"""The results page: one self-contained HTML file (figures inlined as PNG data) that a reviewer can act on.

Order: caveats first (what not to trust), then the protocol (what was run and how to rerun it), the headroom
(what the data allow), the tables, the statistics, the figures with captions, the definitions and the recipe.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from fmsbench.metrics import DEFINITIONS
from fmsbench.report.build import Report
from fmsbench.report.protocol import Protocol
from fmsbench.report.tables import TableView, headroom_view, legend


def _e(text: object) -> str:
    return html.escape(str(text))


def html_table(view: TableView, anchor: str, heading: str = "h3") -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in [view.row_label, *view.columns])
    body = []
    for name, cells in view.rows:
        tds = "".join(f"<td>{'<strong>' if c.best else ''}{_e(c.text)}{'</strong>' if c.best else ''}"
                      f"{f'<sup>{_e(c.marks)}</sup>' if c.marks else ''}</td>" for c in cells)
        body.append(f"<tr><th scope=\"row\">{_e(name)}</th>{tds}</tr>")
    notes = "".join(f"<li>{_e(n)}</li>" for n in view.notes)
    return (f'<section id="{anchor}" class="table"><{heading}>{_e(view.title)}</{heading}>'
            f'<p class="caption">{_e(view.caption)}</p><div class="wide"><table class="results"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            "</tbody></table></div>"
            + (f'<ul class="notes">{notes}</ul>' if notes else "") + "</section>")


def _protocol(protocol: Protocol) -> str:
    hubs = "".join(
        f"<tr><th scope=\"row\">{_e(h.name)}</th><td><code>{_e(h.path)}</code></td><td>"
        + ", ".join(f"{_e(task)}: <code>{_e(f)}</code>" for task, f in h.fingerprints.items())
        + (f'<br><span class="warn">{_e(h.note)}</span>' if h.note else "") + "</td></tr>" for h in protocol.hubs)
    facts = [("tasks and seeds", "; ".join(f"{task}: seeds {seeds}" for task, seeds in protocol.seeds.items())),
             ("budget (epochs per run)", ", ".join(map(str, protocol.budgets))),
             ("tau measured at (cumulative epochs)", ", ".join(map(str, protocol.tau_budgets)) or "–"),
             ("runs created", " to ".join(dict.fromkeys(protocol.created))),
             *((f"{name} version", version) for name, version in protocol.versions.items()),
             *protocol.machines.items()]
    rows = "".join(f"<tr><th scope=\"row\">{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    settings = "".join(
        f"<tr><th scope=\"row\">{_e(method)}</th><td>"
        + "<br>".join(", ".join(
            (f"<strong>{_e(k)}={_e(json.dumps(v))}</strong>" if k in protocol.overrides.get(method, {})
             else f"{_e(k)}={_e(json.dumps(v))}") for k, v in values.items()) or "(no settings)"
            for values in variants)
        + "</td></tr>" for method, variants in protocol.settings.items())
    commands = "\n".join(protocol.commands)
    return (
        '<section id="protocol"><h2>Protocol</h2>'
        f'<table class="facts"><thead><tr><th>hub</th><th>file</th><th>task fingerprints (the build replayed)</th>'
        f'</tr></thead><tbody>{hubs}</tbody></table>'
        f'<table class="facts"><tbody>{rows}</tbody></table>'
        '<h3>Method settings</h3><p class="caption">Every setting each method ran with; bold: changed from the '
        "method's default.</p>"
        f'<table class="facts"><tbody>{settings}</tbody></table>'
        f"<h3>Reproduce</h3><pre>{_e(commands)}</pre></section>"
    )


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return (f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def render_html(report: Report, title: str, description: str = "", recipe: str = "",
                files: list[Path] | None = None) -> str:
    """The page; `recipe`: an experiment's recipe text, shown at the end; `files`: data files written with the
    page (listed)."""
    parts = [f"<h1>{_e(title)}</h1>"]
    if description:
        parts.append(f"<p>{_e(description)}</p>")
    if report.caveats:
        items = "".join(f"<li>{_e(c)}</li>" for c in report.caveats)
        parts.append(f'<section id="caveats" class="caveats"><h2>Caveats</h2><ul>{items}</ul></section>')
    parts.append(_protocol(report.protocol))
    room = headroom_view(report.headroom)
    if room is not None:
        parts.append(html_table(room, "headroom", heading="h2"))
    parts.append(f'<section id="results"><h2>Results</h2><p class="caption">{_e(legend(report.summary))}</p>'
                 + "".join(html_table(view, f"table-{view.metric}") for view in report.tables) + "</section>")
    if report.figures:
        parts.append('<section id="figures"><h2>Figures</h2>'
                     + "".join(_figure(f.path, f.caption) for f in report.figures) + "</section>")
    definitions = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in DEFINITIONS.items())
    parts.append(f'<section id="definitions"><h2>Definitions</h2><dl>{definitions}</dl></section>')
    if files:
        names = ", ".join(f"<code>{_e(path)}</code>" for path in files)
        parts.append(f'<section id="data"><h2>Data</h2><p>Written with this page: {names} (steps: one row per step '
                     "of every run, with its seconds, regret, incumbent and the taus where measured; summary: one "
                     "row per metric, hub, task, method and budget).</p></section>")
    if recipe:
        parts.append(f'<section id="recipe"><h2>Experiment recipe</h2><pre>{_e(recipe)}</pre></section>')
    return _PAGE.format(title=_e(title), body="\n".join(parts))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 90em; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.3em 0 1.2em; font-variant-numeric: tabular-nums; }}
th, td {{ padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; vertical-align: top; }}
table.results td {{ text-align: right; white-space: nowrap; }}
table.results th, table.facts th {{ text-align: left; }} thead th {{ border-bottom: 2px solid #999; }}
p.caption, figcaption, ul.notes {{ color: #444; font-size: 0.92em; max-width: 75em; }}
.caveats {{ background: #fff6e0; border-left: 4px solid #e0a000; padding: 0.2em 1em; }}
.wide {{ overflow-x: auto; }} .warn {{ color: #a05a00; }} sup {{ color: #b00; }} img {{ max-width: 100%; }}
figure {{ margin: 1.5em 0; }} pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }} dt {{ font-weight: bold; }}
</style></head><body>
{body}
</body></html>
"""
