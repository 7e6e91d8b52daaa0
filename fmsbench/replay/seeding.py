"""The state that makes a run reproducible: torch's generator seeded, one thread, deterministic algorithms.

The same context wraps a method whether it runs in the replay loop's process or in its own worker
(`fmsbench.replay.isolation`), so both give bit-identical trajectories.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Seed torch's global generator, one thread, deterministic algorithms; restore all three afterwards."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
