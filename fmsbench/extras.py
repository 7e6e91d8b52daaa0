"""Optional extras (`pip install 'fmsbench[optuna]'`, `[syne-tune]`, `[ray]`): what is missing, as one line.

Code that needs an extra imports it only when used, so fmsbench runs (and lists everything it offers) without it.
"""

from __future__ import annotations

import importlib.util

from fmsbench.errors import FmsbenchError


class MissingExtraError(FmsbenchError):
    """A feature whose optional dependencies are not installed."""

    exit_code = 2


def missing(modules: tuple[str, ...]) -> list[str]:
    """The top-level modules of `modules` that cannot be imported here."""
    return [module for module in modules if importlib.util.find_spec(module) is None]


def install_hint(extra: str) -> str:
    return f"pip install 'fmsbench[{extra}]'"


def require(modules: tuple[str, ...], extra: str, what: str) -> None:
    """Raise MissingExtraError naming the extra unless every module of `modules` is importable."""
    absent = missing(modules)
    if absent:
        raise MissingExtraError(f"{what} needs {', '.join(absent)}, which is not installed; {install_hint(extra)}")
