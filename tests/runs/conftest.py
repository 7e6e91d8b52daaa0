"""The small finished experiment that the experiment and check tests read (run once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from smallexperiment import finished_experiment


@pytest.fixture(scope="session")
def finished(two_task_hub: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return finished_experiment(two_task_hub, tmp_path_factory.mktemp("experiment"))
