"""Executors run independent jobs and yield their results as they finish.

`local` is a process pool sized to the machine: one worker per core with one torch thread each, started
with 'spawn' so no torch state is inherited. With one worker, jobs run in this process (easy to debug).
Results do not depend on the executor: every job seeds itself and runs single-threaded.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

import torch

from fmsbench.registry import Registry

J = TypeVar("J")
R = TypeVar("R")


class Executor(Protocol):
    def run(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]: ...


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor")


def _single_thread() -> None:
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"


@EXECUTORS.register("local")
class LocalExecutor:
    def __init__(self, workers: int | None = None, **_: Any) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def run(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[R]:
        if self.workers == 1 or len(jobs) <= 1:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                yield from map(fn, jobs)
            finally:
                torch.set_num_threads(threads)
            return
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=context, initializer=_single_thread)
        try:
            pending = {pool.submit(fn, job) for job in jobs}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
