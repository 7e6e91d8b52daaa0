"""The contract between the replay loop and an HPO method: what a method is asked and what it answers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from fmsbench.replay.observation import Observation


@dataclass(frozen=True)
class Proposal:
    """Advance `config` to `epoch` (> its epochs trained so far); the loop charges the difference."""

    config: int
    epoch: int


class Method(ABC):
    """An HPO method driven by the replay loop.

    The loop calls `propose` once per step with an `Observation` (never the hub itself). A method with a
    surrogate sets `has_surrogate` and implements `forecast`, which the loop calls to measure Kendall's taus;
    it must not change anything that affects later proposals (no training, no random draws), so the trajectory
    is the same whichever tau budgets are asked for.
    """

    has_surrogate: ClassVar[bool] = False

    def __init__(self) -> None:
        self.fit_seconds = 0.0  # wall time the last `propose` spent fitting and querying its surrogate; recorded

    @abstractmethod
    def propose(self, obs: Observation) -> Proposal:
        """The next (config, target epoch) to pay for; `config` must be one of `obs.candidates()`."""

    def forecast(self, obs: Observation, epochs: np.ndarray) -> np.ndarray | None:
        """Predicted validation accuracy of every config c at epoch `epochs[c]` ([n_configs] each), or None
        before any surrogate exists."""
        return None

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Every setting that shapes the trajectory, recorded in the trajectory file's metadata."""
