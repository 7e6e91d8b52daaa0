"""A method that proposes a fixed script: what replay and observation tests drive the loop with."""

from __future__ import annotations

from typing import Any

import numpy as np

from fmsbench.replay import Method, Observation, Proposal


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

    def forecast(self, obs: Observation, epochs: np.ndarray) -> np.ndarray | None:
        """`predictions` at every epoch (a constant curve per config)."""
        return self.predictions

    def settings(self) -> dict[str, Any]:
        return {}
