"""`python -m fmsbench` runs the CLI."""

from fmsbench.cli import app

app(prog_name="fmsbench")
