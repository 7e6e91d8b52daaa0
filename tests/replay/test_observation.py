"""What a method may see: only what it has paid for, through the one door of `Observation`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted import Scripted

from fmsbench.hub.benchmark import Benchmark
from fmsbench.replay import Observation, UnpaidReadError, replay
from fmsbench.replay.observation import VISIBLE_METRICS


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


# ----------------------------------------------------------------- argument checking, property-based
LEDGER = np.array([2, 0, 3], np.int64)  # hand_hub: 3 configs, max epoch 3
CHECK_ERRORS = (TypeError, ValueError, UnpaidReadError)


class ComparesLikeZero:
    """No __index__: comparisons say it is a small number, which once slipped past the paid check."""

    def __gt__(self, other: object) -> bool:
        return False

    def __lt__(self, other: object) -> bool:
        return False

    def __add__(self, other: object) -> int:
        return 3


class IndexIs:
    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


class EqualToAll(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


integers = st.integers(-(2**63), 2**63 - 1) | st.integers(-4, 5)
arguments = st.one_of(
    integers, integers.map(np.int64), st.integers(0, 3).map(np.int32), st.booleans(), st.none(),
    st.floats(-5, 5), st.text(max_size=3), st.just(ComparesLikeZero()), st.integers(-4, 5).map(IndexIs),
    st.just(np.array([0, 1])), st.just([0]),
)
metrics = st.one_of(st.sampled_from(["val_acc", "train_loss", "seconds", "test_acc", "test_loss", "nope"]),
                    st.none(), st.sampled_from(["val_acc", "test_acc"]).map(EqualToAll), arguments)


def _integer(value: object) -> int | None:
    """The integer a genuine integer argument stands for (None for anything else)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer, IndexIs)):
        return int(value.value if isinstance(value, IndexIs) else value)
    return None


@pytest.fixture(scope="module")
def observed(hand_hub: Path) -> Any:
    with Benchmark(hand_hub) as bench:
        yield bench, Observation(bench, LEDGER.copy(), budget=9)


@settings(max_examples=300, deadline=None)
@given(config=arguments, metric=metrics, upto=st.one_of(st.none(), arguments))
def test_a_curve_read_returns_paid_data_or_refuses(observed: Any, config: object, metric: object,
                                                  upto: object) -> None:
    bench, obs = observed
    try:
        values = obs.curve(config, metric, upto)
    except CHECK_ERRORS:
        values = None
    c, u = _integer(config), (None if upto is None else _integer(upto))
    valid = (c is not None and 0 <= c < 3 and type(metric) is str and metric in VISIBLE_METRICS
             and (upto is None or (u is not None and 0 <= u <= LEDGER[c])))
    if not valid:
        assert values is None, f"curve({config!r}, {metric!r}, {upto!r}) returned {values}"
        return
    paid = LEDGER[c] if upto is None else u
    assert values is not None and np.array_equal(values, bench.curve(c, paid, metric)[1:])


@settings(max_examples=200, deadline=None)
@given(config=arguments, epoch=st.one_of(st.none(), arguments))
def test_a_checkpoint_read_returns_paid_weights_or_refuses(observed: Any, config: object, epoch: object) -> None:
    bench, obs = observed
    try:
        state = obs.checkpoint(config, epoch)
    except CHECK_ERRORS:
        state = None
    c, e = _integer(config), (None if epoch is None else _integer(epoch))
    valid = c is not None and 0 <= c < 3 and (epoch is None or (e is not None and 0 <= e <= LEDGER[c]))
    if not valid:
        assert state is None, f"checkpoint({config!r}, {epoch!r}) was answered"
        return
    expected = bench.checkpoint(c, LEDGER[c] if epoch is None else e)
    assert state is not None and all(torch.equal(state[k], expected[k]) for k in expected)


@settings(max_examples=200, deadline=None)
@given(config=arguments)
def test_every_config_argument_is_checked(observed: Any, config: object) -> None:
    bench, obs = observed
    c = _integer(config)
    valid = c is not None and 0 <= c < 3
    expected = {"epochs": LEDGER[c], "arch_id": "mlp-s", "layout": bench.layout(c)} if valid else {}
    for name in ("epochs", "arch_id", "layout"):
        if valid:
            assert getattr(obs, name)(config) == expected[name]
        else:
            with pytest.raises((TypeError, ValueError)):
                getattr(obs, name)(config)
