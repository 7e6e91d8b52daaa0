"""Executors run independent jobs and yield their results as they finish.

`local` is a process pool sized to the machine: one worker per core with one torch thread each, started
with 'spawn' so no torch state is inherited. With one worker, jobs run in this process (easy to debug).
`ray` (fmsbench/hub/ray_executor.py, optional extra) runs the same job functions as Ray tasks on a local
instance or a cluster. Results do not depend on the executor: every job seeds itself and runs single-threaded.

Progress from inside a job: with `on_report`, the job function is called as `fn(job, report)`, and every
`report(message)` made in a worker reaches `on_report(message)` in the calling process while jobs run.
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
from typing import Any, Protocol, TypeVar

import torch

from fmsbench.errors import FmsbenchError
from fmsbench.registry import Registry

J = TypeVar("J")
R = TypeVar("R")
Report = Callable[[Any], None]
POLL_SECONDS = 0.2  # how often reports are forwarded while jobs run
ORPHAN_POLL_SECONDS = 1.0  # how often a pool worker checks that its parent is alive


class Executor(Protocol):
    gpus_per_job: float  # GPUs each job is given; training jobs run on cuda when > 0

    def run(self, fn: Callable[..., R], jobs: Sequence[J], on_report: Report | None = None) -> Iterator[R]: ...


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor")


def single_thread() -> None:
    """One torch/OpenMP thread per worker: results match across executors and workers do not oversubscribe."""
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"


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


@EXECUTORS.register("local")
class LocalExecutor:
    gpus_per_job = 0.0  # the local pool trains on the CPU

    def __init__(self, workers: int | None = None, address: str | None = None, gpus_per_job: float | None = None,
                 **_: Any) -> None:
        if address or gpus_per_job:
            raise FmsbenchError("--address and --gpus-per-job need --executor ray; the local pool uses this "
                                "machine's CPUs")
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


@EXECUTORS.register("ray")
def ray_executor(**options: Any) -> Executor:
    """Ray is an optional extra: imported only when chosen, with a one-line error when it is missing."""
    try:
        from fmsbench.hub.ray_executor import RayExecutor
    except ImportError as error:
        if error.name != "ray":
            raise
        raise FmsbenchError("ray is not installed; pip install 'fmsbench[ray]'") from None
    return RayExecutor(**options)
