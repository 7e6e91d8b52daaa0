"""Executors by CLI name: `local` (a process pool on this machine) and `ray` (optional extra); hub builds and run
sweeps use the same ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fmsbench.errors import FmsbenchError
from fmsbench.executors.base import Executor, Report, single_thread
from fmsbench.executors.local import LocalExecutor
from fmsbench.registry import Registry

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "Report", "single_thread"]

EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor")
EXECUTORS.register("local")(LocalExecutor)


@EXECUTORS.register("ray")
def ray_executor(**options: Any) -> Executor:
    """Ray is an optional extra: imported only when chosen, with a one-line error when it is missing."""
    try:
        from fmsbench.executors.ray import RayExecutor
    except ImportError as error:
        if error.name != "ray":
            raise
        raise FmsbenchError("ray is not installed; pip install 'fmsbench[ray]'") from None
    return RayExecutor(**options)
