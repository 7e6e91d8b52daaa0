"""Random search: distinct seeded configs, each straight to the max epoch, the last one truncated."""

from __future__ import annotations

from pathlib import Path

from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.replay import replay


def test_random_search(synth_hub: Path) -> None:
    with Benchmark(synth_hub) as bench:
        steps = replay(METHODS.get("random")(3), bench, 35, tau_budgets=(20,)).steps
        again = replay(METHODS.get("random")(3), bench, 35).steps
        other = replay(METHODS.get("random")(4), bench, 35).steps
    assert [(s.cost, s.epoch) for s in steps] == [(10, 10)] * 3 + [(5, 5)]
    assert len({s.config for s in steps}) == 4
    assert [s.config for s in steps] == [s.config for s in again] != [s.config for s in other]
    assert all(s.tau is None for s in steps)
