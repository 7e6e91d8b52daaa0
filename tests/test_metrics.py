"""Metric definitions: Kendall's tau-b on values (not on lists of config ids), regret, aggregation, ranks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from fmsbench.metrics import (
    DEFINITIONS,
    average_rank,
    kendall_tau,
    mean_and_sem,
    normalised_regret,
    regret,
    surrogate_taus,
    values_at_budgets,
)


def test_tau_correlates_values_per_config_not_id_lists() -> None:
    true = np.array([0.9, 0.5, 0.7, 0.6, 0.8])
    predicted = np.array([0.0, 0.4, 0.1, 0.2, 0.3])
    released = kendalltau(np.argsort(-predicted), np.argsort(-true)).statistic  # the released code's way
    assert released == pytest.approx(0.6)
    assert kendall_tau(predicted, true) == pytest.approx(-0.6)  # 2 concordant, 8 discordant pairs of 10


def test_tau_b_handles_ties_and_constants() -> None:
    assert kendall_tau([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(kendalltau([1, 2, 2, 3], [1, 2, 3, 4]).statistic)
    assert math.isnan(kendall_tau([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="one value per config"):
        kendall_tau([1, 2], [1, 2, 3])


def test_regret_and_normalised_regret() -> None:
    assert regret(0.9, 0.8) == pytest.approx(0.1)
    assert normalised_regret(0.9, 0.4, 0.8) == pytest.approx(0.2)
    assert math.isnan(normalised_regret(0.5, 0.5, 0.5))


def test_values_at_budgets_take_the_last_finished_step() -> None:
    cum = [10, 20, 30]
    values = [0.3, 0.2, 0.1]
    assert values_at_budgets(cum, values, [5, 10, 25, 30, 99]) == pytest.approx([math.nan, 0.3, 0.2, 0.1, 0.1],
                                                                                  nan_ok=True)


def test_mean_and_sem() -> None:
    mean, sem, n = mean_and_sem([1.0, 2.0, 3.0, math.nan])
    assert (mean, n) == (2.0, 3) and sem == pytest.approx(1.0 / math.sqrt(3))
    assert math.isnan(mean_and_sem([4.0])[1]) and mean_and_sem([])[2] == 0


def test_average_rank_over_tasks() -> None:
    scores = pd.DataFrame({"task a": [0.1, 0.2, 0.3], "task b": [0.3, 0.2, 0.2]}, index=["x", "y", "z"])
    assert average_rank(scores).to_dict() == {"x": 2.0, "y": 1.75, "z": 2.25}


def test_definitions_state_the_design() -> None:
    assert "y* = best validation accuracy of any config at any epoch" in DEFINITIONS["regret"]
    assert "tau-b" in DEFINITIONS["kendall tau"] and "over all configs" in DEFINITIONS["kendall tau"]


def test_the_four_taus() -> None:
    val = np.array([[0.0, 0.05, 0.1], [0.0, 0.3, 0.2], [0.0, 0.1, 0.3], [0.0, 0.2, 0.4]])  # true finals 0.1..0.4
    reversed_final = np.array([0.4, 0.3, 0.2, 0.1])
    trained = np.array([2, 1, 1, 2])  # configs 0 and 3 finished, 1 and 2 started
    taus = surrogate_taus(reversed_final, np.array([9.0, 0.2, 0.5, 9.0]), trained, val)
    assert taus.final == -1.0
    assert taus.forecast == -1.0  # configs 1 and 2: predicted 0.3 > 0.2, true 0.2 < 0.3
    assert taus.protocol == pytest.approx(4 / 6)  # finished configs by their true value: 5 of 6 pairs agree
    assert taus.next == 1.0  # configs 1 and 2 at their next epoch 2: predicted 0.2 < 0.5, true 0.2 < 0.3
