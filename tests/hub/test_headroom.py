"""Headroom of a hub task: tau ceilings and shares, by hand on a 3-config hub and as behaviour on a synthetic one."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hubfakes import make_synthetic_hub, write_fake_hub

from fmsbench.hub.headroom import all_configs_ceiling, few_configs_ceiling, hub_warnings, task_headroom
from fmsbench.hub.store import HubFile


def test_hand_computed_headroom(hand_hub: Path) -> None:
    with HubFile(hand_hub) as hub:
        room = task_headroom(hub, "main")
    assert room.noise_ceiling == pytest.approx(1.0)  # test acc = val acc - 0.01: the same order
    # epoch 1 [0.5, 0.3, 0.2] vs final [0.7, 0.4, 0.9]: 1 concordant, 2 discordant pairs of 3
    assert room.curve_ceiling[1] == pytest.approx(-1 / 3) and room.curve_ceiling[3] == pytest.approx(1.0)
    assert room.near_best == {0.005: pytest.approx(1 / 3), 0.01: pytest.approx(1 / 3)}  # only config 2 reaches 0.9
    assert room.at_chance == pytest.approx(2 / 3)  # 2 classes: <= 0.75 is at chance (0.7 and 0.4)
    assert room.flat == 0.0 and room.chance == 0.75
    assert math.isnan(room.hp_ceiling_few) and math.isnan(room.hp_ceiling_all)  # 3 configs are too few


def test_flat_curves_and_chance_warnings(tmp_path: Path) -> None:
    val = np.tile(np.array([0.1, 0.5, 0.5, 0.5]), (4, 1))
    val[0, 2] = 0.6  # config 0 moves, the others are flat after epoch 1
    with HubFile(write_fake_hub(tmp_path / "flat.h5", val)) as hub:
        room = task_headroom(hub, "main")
        warnings = hub_warnings(hub)
    assert room.flat == pytest.approx(3 / 4) and room.at_chance == 1.0
    assert any("task main: 100% of 4 configs end at chance" in w for w in warnings)
    assert sum("ends pretraining at chance" in w for w in warnings) == 2  # the fake pool learnt nothing


def test_hyperparameter_ceiling_reads_hyperparameters(tmp_path: Path) -> None:
    with HubFile(make_synthetic_hub(tmp_path / "s.h5", n_configs=80)) as hub:
        room = task_headroom(hub, "main")
        x = np.stack([np.log10(hub.configs.lr), np.log10(hub.configs.weight_decay)], axis=1)
    assert room.hp_ceiling_all > 0.5 and room.hp_ceiling_few > 0.3  # final acc is a smooth function of lr, wd
    noise = np.random.default_rng(0).normal(size=80)
    unrelated = all_configs_ceiling(x, noise)
    assert abs(unrelated) < 0.2 and all_configs_ceiling(x, noise) == unrelated  # no signal, seeded
    assert abs(few_configs_ceiling(x, noise)) < 0.2
