"""The replay loop charges what is proposed, truncates at the budget, and reveals only what was paid for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from fmsbench.hub.benchmark import Benchmark
from fmsbench.replay import Method, Observation, Proposal, UnpaidReadError, replay
from fmsbench.replay.loop import ProposalError


class Scripted(Method):
    """Proposes a fixed list of (config, epoch); `probe` runs on the observation before each proposal."""

    def __init__(self, script: list[tuple[int, int]], probe: Any = None, predictions: np.ndarray | None = None) -> None:
        super().__init__()
        self.script, self.probe, self.predictions = list(script), probe, predictions
        self.has_surrogate = predictions is not None  # type: ignore[misc]

    def propose(self, obs: Observation) -> Proposal:
        if self.probe is not None:
            self.probe(obs)
        return Proposal(*self.script.pop(0))

    def predict_final(self, obs: Observation) -> np.ndarray | None:
        return self.predictions

    def settings(self) -> dict[str, Any]:
        return {}


def test_costs_incumbent_regret_and_truncation(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench:
        result = replay(Scripted([(0, 2), (1, 3), (2, 3)]), bench, budget=6)
    steps = result.steps
    assert [(s.config, s.epoch, s.cost, s.cum_epochs) for s in steps] == [(0, 2, 2, 2), (1, 3, 3, 5), (2, 1, 1, 6)]
    assert [s.val_acc for s in steps] == pytest.approx([0.6, 0.4, 0.2])
    assert [s.incumbent_val for s in steps] == pytest.approx([0.6, 0.8, 0.8])  # 0.8 was seen mid-run at epoch 2
    assert [s.incumbent_test for s in steps] == pytest.approx([0.59, 0.79, 0.79])
    assert [s.regret for s in steps] == pytest.approx([0.3, 0.1, 0.1])
    assert [s.normalised_regret for s in steps] == pytest.approx([0.6, 0.2, 0.2])  # / (0.9 - 0.4)
    assert [s.cum_seconds for s in steps] == pytest.approx([2.0, 5.3, 6.5])  # 1 + 0.1 * config per epoch


def test_stops_when_the_pool_is_empty(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench:
        result = replay(Scripted([(0, 3), (1, 3), (2, 3)]), bench, budget=100)
    assert result.steps[-1].cum_epochs == 9 and result.steps[-1].regret == pytest.approx(0.0)


@pytest.mark.parametrize("proposal, message", [((7, 1), "does not exist"), ((0, 0), "must be in 1..3"),
                                              ((0, 4), "must be in 1..3")])
def test_invalid_proposals_are_refused(hand_hub: Path, proposal: tuple[int, int], message: str) -> None:
    with Benchmark(hand_hub) as bench, pytest.raises(ProposalError, match=message):
        replay(Scripted([proposal]), bench, budget=5)


def test_finished_configs_cannot_be_proposed(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench, pytest.raises(ProposalError, match="already trained to the max"):
        replay(Scripted([(0, 3), (0, 3)]), bench, budget=5)


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


def test_tau_is_measured_when_the_budget_is_first_reached(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench:
        perfect = bench.final_val()
        result = replay(Scripted([(0, 2), (1, 3), (2, 1)], predictions=perfect), bench, budget=6, tau_budgets=(3, 5, 6, 50))
        no_surrogate = replay(Scripted([(0, 2), (1, 3)]), bench, budget=5, tau_budgets=(3,))
    assert result.tau == {3: 1.0, 5: 1.0, 6: 1.0, 50: None}
    assert [s.tau for s in result.steps] == [None, 1.0, 1.0]
    assert no_surrogate.tau == {3: None}


def test_zero_budget_is_refused(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench, pytest.raises(Exception, match="at least 1 epoch"):
        replay(Scripted([]), bench, budget=0)
