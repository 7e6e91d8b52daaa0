"""`local`: a process pool sized to the machine, one worker per core with one torch thread each.

Workers are started with 'spawn' so no torch state is inherited. With one worker, jobs run in this process
(easy to debug).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

import torch

from fmsbench.errors import FmsbenchError
from fmsbench.executors.base import POLL_SECONDS, Report, exit_with_parent, single_thread

J = TypeVar("J")
R = TypeVar("R")
_reports: Any = None  # in a pool worker: the pool's queue of progress reports to the parent


def _pool_worker(parent: int, reports: Any) -> None:
    """Initializer of local pool workers: single-threaded, gone when the parent is, and holding the pool's report
    queue (given at process start: a queue cannot travel with a job)."""
    global _reports
    _reports = reports
    single_thread()
    exit_with_parent(parent)


def _report(message: Any) -> None:
    """A job's `report` in a pool worker. SimpleQueue writes at once, before the job's result is sent, so the parent
    has every report of a job when it sees the job finish."""
    _reports.put(message)


class LocalExecutor:
    gpus_per_job = 0.0  # the local pool trains on the CPU

    def __init__(self, workers: int | None = None, address: str | None = None, gpus_per_job: float | None = None,
                 **_: Any) -> None:
        if address or gpus_per_job:
            raise FmsbenchError("address and gpus_per_job need executor ray; the local pool uses this machine's CPUs",
                                parameters=("address", "gpus_per_job", "executor"))
        self.workers = max(1, workers or os.cpu_count() or 1)

    def run(self, fn: Callable[..., R], jobs: Sequence[J], on_report: Report | None = None) -> Iterator[R]:
        extra = () if on_report is None else (on_report,)
        if self.workers == 1 or len(jobs) <= 1:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                for job in jobs:
                    yield fn(job, *extra)
            finally:
                torch.set_num_threads(threads)
            return
        yield from self._in_pool(fn, jobs, on_report)

    def _in_pool(self, fn: Callable[..., R], jobs: Sequence[J], on_report: Report | None) -> Iterator[R]:
        context = multiprocessing.get_context("spawn")
        queue = None if on_report is None else context.SimpleQueue()  # no Manager process that could be orphaned
        pool = ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=context, initializer=_pool_worker,
                                   initargs=(os.getpid(), queue))
        try:
            extra = () if queue is None else (_report,)
            pending = {pool.submit(fn, job, *extra) for job in jobs}
            while pending:
                done, pending = wait(pending, timeout=POLL_SECONDS if queue else None, return_when=FIRST_COMPLETED)
                if queue is not None:
                    _forward(queue, on_report)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if queue is not None:
                queue.close()


def _forward(queue: Any, on_report: Report) -> None:
    while not queue.empty():
        on_report(queue.get())
