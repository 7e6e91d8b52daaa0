"""What every executor offers: run independent jobs and yield their results as they finish.

Results do not depend on the executor: every job seeds itself and runs single-threaded.

Progress from inside a job: with `on_report`, the job function is called as `fn(job, report)`, and every
`report(message)` made in a worker reaches `on_report(message)` in the calling process while jobs run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import torch

J = TypeVar("J")
R = TypeVar("R")
Report = Callable[[Any], None]
POLL_SECONDS = 0.2  # how often reports are forwarded while jobs run


class Executor(Protocol):
    gpus_per_job: float  # GPUs each job is given; training jobs run on cuda when > 0

    def run(self, fn: Callable[..., R], jobs: Sequence[J], on_report: Report | None = None) -> Iterator[R]: ...


def single_thread() -> None:
    """One torch/OpenMP thread per worker: results match across executors and workers do not oversubscribe."""
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
