"""The replay engine: methods propose (config, epoch), the loop charges epochs and reveals only what was paid for.

Protocol of DyHPO (Wistuba et al. 2022, "Supervising the Multi-Fidelity Race of Hyperparameter
Configurations", arXiv 2202.09774) as fixed in DESIGN.md's "Replay protocol": see `loop.replay`.
"""

from fmsbench.replay.loop import replay
from fmsbench.replay.observation import Observation, UnpaidReadError
from fmsbench.replay.protocol import Method, Proposal

__all__ = ["Method", "Observation", "Proposal", "UnpaidReadError", "replay"]
