"""The read-only view of one task of a hub."""

from pathlib import Path

import pytest

from fmsbench.errors import FmsbenchError
from fmsbench.hub.benchmark import Benchmark


def test_unknown_task_is_named(tiny_ptm_hub: Path) -> None:
    with pytest.raises(FmsbenchError, match="its tasks are: digits, shapes"):
        Benchmark(tiny_ptm_hub, "cifar10")
