"""What a method may see: only what it has paid for, through the one door of `Observation`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scripted import Scripted

from fmsbench.hub.benchmark import Benchmark
from fmsbench.replay import Observation, UnpaidReadError, replay


def test_a_method_sees_only_what_it_paid_for(hand_hub: Path) -> None:
    seen: list[dict[str, Any]] = []

    def probe(obs: Observation) -> None:
        seen.append({"curve0": obs.curve(0), "candidates": obs.candidates(), "spent": obs.spent})
        if obs.spent == 2:  # config 0 is at epoch 2
            assert obs.curve(0, upto=1) == pytest.approx([0.5])
            with pytest.raises(UnpaidReadError, match="not paid for"):
                obs.curve(0, upto=3)
            with pytest.raises(UnpaidReadError, match="not paid for"):
                obs.checkpoint(0, 3)
            with pytest.raises(UnpaidReadError, match="only reported"):
                obs.curve(0, "test_acc")
            with pytest.raises(UnpaidReadError, match="not paid for"):
                obs.checkpoint(1, 1)  # untouched: only epoch 0 is visible
            assert obs.curve(1).size == 0
            with Benchmark(hand_hub) as bench:
                for config, epoch in ((1, 0), (0, 2), (0, 1)):
                    expected = bench.checkpoint(config, epoch)
                    got = obs.checkpoint(config, epoch)
                    assert all(torch.equal(got[k], expected[k]) for k in expected)
                default = obs.checkpoint(1)  # b_c = 0 -> the pretrained weights
                assert all(torch.equal(default[k], bench.checkpoint(1, 0)[k]) for k in default)
                assert not torch.equal(obs.checkpoint(0)["0.weight"], bench.checkpoint(0, 0)["0.weight"])

    with Benchmark(hand_hub) as bench:
        replay(Scripted([(0, 2), (2, 3), (1, 1)], probe=probe), bench, budget=6)
    assert seen[0]["curve0"].size == 0 and seen[0]["candidates"].tolist() == [0, 1, 2]
    assert seen[2]["candidates"].tolist() == [0, 1]  # config 2 reached the max epoch
    assert [s["spent"] for s in seen] == [0, 2, 5]


def test_observation_hides_the_benchmark(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench:
        obs = Observation(bench, np.zeros(bench.n_configs, np.int64), budget=5)
    assert not [name for name in vars(obs) if "bench" in name and not name.startswith("_Observation__")]
    assert obs.configs is not bench.configs and obs.arch_id(0) == "mlp-s"
