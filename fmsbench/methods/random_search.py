"""Random search: seeded random configs, without replacement, each trained straight to the max epoch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fmsbench.methods.base import METHODS, build_settings
from fmsbench.replay.observation import Observation
from fmsbench.replay.protocol import Method, Proposal


@dataclass(frozen=True)
class RandomSettings:
    """Random search has no knobs besides its seed."""


class RandomSearch(Method):
    """The full-fidelity baseline of DyHPO (Wistuba et al. 2022, arXiv 2202.09774): no surrogate, no tau."""

    def __init__(self, seed: int, settings: RandomSettings) -> None:
        super().__init__()
        self._rng = np.random.default_rng(seed)
        self._settings = settings
        self._order: list[int] | None = None

    def propose(self, obs: Observation) -> Proposal:
        if self._order is None:
            self._order = [int(c) for c in self._rng.permutation(obs.n_configs)]
        while obs.epochs(self._order[0]) >= obs.max_epoch:
            self._order.pop(0)
        return Proposal(self._order[0], obs.max_epoch)

    def settings(self) -> dict[str, Any]:
        return asdict(self._settings)


@METHODS.register("random")
def random_search(seed: int, **overrides: Any) -> RandomSearch:
    """Random search: seeded random configs without replacement, each straight to the max epoch."""
    return RandomSearch(seed, build_settings(RandomSettings, overrides))
