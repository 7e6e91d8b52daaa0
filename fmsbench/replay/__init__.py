"""The replay engine: methods propose (config, epoch), the loop charges epochs and reveals only what was paid for.

Protocol of DyHPO (Wistuba et al. 2022, "Supervising the Multi-Fidelity Race of Hyperparameter
Configurations", arXiv 2202.09774) as fixed in DESIGN.md's "Replay protocol": see `loop.replay`.

This package is also that function: `fmsbench.replay(method, bench, budget)` calls `loop.replay`. Python sets
the attribute `fmsbench.replay` to this package as soon as any module in it is imported, so the public API's
`from fmsbench import replay` could not name the function reliably; a callable package names both.
"""

import sys
import types
from typing import Any

from fmsbench.replay.loop import ReplayResult, replay
from fmsbench.replay.observation import Observation, UnpaidReadError
from fmsbench.replay.protocol import Method, Proposal

__all__ = ["Method", "Observation", "Proposal", "ReplayResult", "UnpaidReadError", "replay"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> ReplayResult:
        return replay(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
