"""The replay loop charges what is proposed, truncates at the budget, and reveals only what was paid for."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scripted import Scripted

from fmsbench.errors import FmsbenchError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.replay import replay
from fmsbench.replay.loop import ProposalError


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


def test_tau_is_measured_when_the_budget_is_first_reached(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench:
        perfect = bench.final_val()
        result = replay(Scripted([(0, 2), (1, 3), (2, 1)], predictions=perfect), bench, budget=6, tau_budgets=(3, 5, 6, 50))
        no_surrogate = replay(Scripted([(0, 2), (1, 3)]), bench, budget=5, tau_budgets=(3,))
    first, last = result.tau[3], result.tau[6]
    assert result.tau[5] is first and result.tau[50] is None  # budgets 3 and 5 are first reached at one step
    assert [s.tau for s in result.steps] == [None, first, last]
    # after 2 steps b = [2, 3, 0]; the script predicts the true final value at every epoch
    assert (first.final, first.protocol) == (1.0, 1.0)
    assert math.isnan(first.forecast)  # one config started but not finished: no pair to rank
    assert first.next == -1.0  # next epochs 3 and 1 of configs 0 and 2: true 0.7 > 0.2, predicted 0.7 < 0.9
    assert (last.final, last.forecast, last.protocol, last.next) == (1.0, 1.0, 1.0, -1.0)
    assert no_surrogate.tau == {3: None}


def test_zero_budget_is_refused(hand_hub: Path) -> None:
    with Benchmark(hand_hub) as bench, pytest.raises(FmsbenchError, match="at least 1 epoch"):
        replay(Scripted([]), bench, budget=0)
