"""Reports of results: tables in the paper's Table 1 layout, statistics, figures, caveats, exports and the HTML page.

Layout of the paper's Table 1 (Mehta et al. 2024, arXiv 2406.18630): rows = methods in the order of the method
registry (then any others, alphabetically), columns = hub/task x budget, cells = mean ± standard error (n) over
seeds. Metric definitions come from `fmsbench.metrics`; this package gathers, aggregates, tests and renders:

    load      results folder -> trajectories          summary   metrics per cell, ranks over (task, seed) blocks
    stats     Friedman, Nemenyi, Wilcoxon-Holm         caveats   degenerate setups, cells short of seeds
    protocol  hubs, seeds, settings, commands          tables    format-neutral tables (best, marks, notes)
    figures   results figures      hubview  hub figures          style     one look per method
    build     Report: all of the above                 render    text formats   page  HTML   export  tidy data
"""

from fmsbench.report.budgets import choose_budgets, reached_budgets
from fmsbench.report.build import Report, build_report, report_of
from fmsbench.report.export import tidy_steps, write_exports
from fmsbench.report.load import ResultsError, load_results, method_order
from fmsbench.report.page import render_html
from fmsbench.report.render import (
    RENDERERS,
    definitions_text,
    render_csv,
    render_json,
    render_markdown,
    render_table,
    rich_table,
    rich_tables,
)

__all__ = ["RENDERERS", "Report", "ResultsError", "build_report", "choose_budgets", "definitions_text", "load_results",
           "method_order", "reached_budgets", "render_csv", "render_html", "render_json", "render_markdown", "render_table",
           "report_of", "rich_table", "rich_tables", "tidy_steps", "write_exports"]
