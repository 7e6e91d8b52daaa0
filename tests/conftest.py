"""Session fixtures: tiny hubs built once with the real builder, and synthetic hubs (tests/hubfakes.py), shared by
every test that needs one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hubfakes import hand_hub, synth_hub, two_task_hub  # noqa: F401  (synthetic-hub session fixtures)

from fmsbench.build.builder import build_hub
from fmsbench.build.recipe import load_recipe

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_ptm_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hub(load_recipe("ptm-tiny"), tmp_path_factory.mktemp("hubs"), workers=1).path


@pytest.fixture(scope="session")
def tiny_simple_cnn_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hub(load_recipe("simple-cnn-tiny"), tmp_path_factory.mktemp("hubs"), workers=1).path
