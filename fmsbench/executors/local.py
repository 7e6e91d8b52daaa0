"""`local`: a process pool sized to the machine, one worker per core with one torch thread each.

Workers are started with 'spawn' so no torch state is inherited. With one worker, jobs run in this process
(easy to debug).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from queue import Empty
from typing import Any, TypeVar

import torch

from fmsbench.errors import FmsbenchError
from fmsbench.executors.base import POLL_SECONDS, Report, single_thread

J = TypeVar("J")
R = TypeVar("R")
ORPHAN_POLL_SECONDS = 1.0  # how often a pool worker checks that its parent is alive


def _pool_worker() -> None:
    """Initializer of local pool workers: single-threaded, and gone when the parent is (a killed build's idle
    workers would otherwise wait on their queue forever, holding their memory)."""
    single_thread()
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


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
        with contextlib.ExitStack() as stack:
            queue = None if on_report is None else stack.enter_context(context.Manager()).Queue()
            pool = ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=context, initializer=_pool_worker)
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
            extra = () if queue is None else (queue.put,)
            pending = {pool.submit(fn, job, *extra) for job in jobs}
            while pending:
                done, pending = wait(pending, timeout=POLL_SECONDS if queue else None, return_when=FIRST_COMPLETED)
                if queue is not None:
                    _forward(queue, on_report)
                for future in done:
                    yield future.result()


def _forward(queue: Any, on_report: Report) -> None:
    while True:
        try:
            message = queue.get_nowait()
        except Empty:
            return
        on_report(message)
