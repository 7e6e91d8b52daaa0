"""`local`: a process pool sized to the machine: one worker per GPU it is given, else one worker per core, with
one torch thread each.

Workers are started with 'spawn' so no torch state is inherited; each learns its device (`worker_device`) when it
starts. With one worker, jobs run in this process (easy to debug).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

import torch

from fmsbench.errors import FmsbenchError
from fmsbench.executors.base import POLL_SECONDS, Report, assign_device, exit_with_parent, single_thread, worker_device

J = TypeVar("J")
R = TypeVar("R")
_reports: Any = None  # in a pool worker: the pool's queue of progress reports to the parent


def _pool_worker(parent: int, devices: Any, reports: Any) -> None:
    """Initializer of local pool workers: single-threaded, on the next device of `devices` (a queue; None: the
    CPU), holding the pool's report queue (given at process start: a queue cannot travel with a job), and gone
    when the parent is."""
    global _reports
    _reports = reports
    single_thread()
    if devices is not None:
        assign_device(devices.get())
    exit_with_parent(parent)


def _report(message: Any) -> None:
    """A job's `report` in a pool worker. SimpleQueue writes at once, before the job's result is sent, so the parent
    has every report of a job when it sees the job finish."""
    _reports.put(message)


class LocalExecutor:
    """A process pool on this machine.

    Args:
        workers: worker processes on the CPU (default: one per core).
        devices: where jobs run (`fmsbench.executors.base.resolve_devices`): ["cpu"] (default), or GPUs, one
            worker each (then `workers` must be unset or equal to their number).
    """

    gpus_per_job = 0.0  # Ray's notion; the local pool places jobs by `devices`

    def __init__(self, workers: int | None = None, address: str | None = None, gpus_per_job: float | None = None,
                 devices: Sequence[str] = ("cpu",), **_: Any) -> None:
        if address or gpus_per_job:
            raise FmsbenchError("address and gpus_per_job need executor ray; the local pool uses this machine's CPUs",
                                parameters=("address", "gpus_per_job", "executor"))
        self.gpus = [device for device in devices if device != "cpu"]
        if self.gpus and workers not in (None, len(self.gpus)):
            raise FmsbenchError(f"workers must be {len(self.gpus)} (one per GPU) or unset when training on GPUs",
                                parameters=("workers",))
        self.workers = len(self.gpus) or max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._reports: Any = None

    def run(self, fn: Callable[..., R], jobs: Sequence[J], on_report: Report | None = None) -> Iterator[R]:
        """Results of `fn(job)` (`fn(job, report)` with `on_report`) in the order jobs finish."""
        if self.workers == 1 or (len(jobs) <= 1 and self._pool is None):
            yield from self._here(fn, jobs, on_report)
            return
        pool = self._started()
        extra = () if on_report is None else (_report,)
        pending = {pool.submit(fn, job, *extra) for job in jobs}
        try:
            while pending:
                done, pending = wait(pending, timeout=POLL_SECONDS if on_report else None,
                                     return_when=FIRST_COMPLETED)
                if on_report is not None:
                    _forward(self._reports, on_report)
                for future in done:
                    yield future.result()
        finally:  # an error, Ctrl-C or an abandoned generator: drop what has not started
            for future in pending:
                future.cancel()

    def _here(self, fn: Callable[..., R], jobs: Sequence[J], on_report: Report | None) -> Iterator[R]:
        """Jobs in this process, one thread, on the pool's (first) device: what one worker would do."""
        extra = () if on_report is None else (on_report,)
        threads, device = torch.get_num_threads(), worker_device()
        torch.set_num_threads(1)
        assign_device(self.gpus[0] if self.gpus else "cpu")
        try:
            for job in jobs:
                yield fn(job, *extra)
        finally:
            torch.set_num_threads(threads)
            assign_device(device)

    def _started(self) -> ProcessPoolExecutor:
        """The worker processes, started once and reused by every `run` until `close` (a build's phases and a
        sweep's runs pay the start-up, imports included, only once)."""
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            devices = None
            if self.gpus:
                devices = context.Queue()
                for device in self.gpus:
                    devices.put(device)
            self._reports = context.SimpleQueue()  # no Manager process that could be orphaned
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_pool_worker,
                                             initargs=(os.getpid(), devices, self._reports))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._reports.close()

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _forward(queue: Any, on_report: Report) -> None:
    while not queue.empty():
        on_report(queue.get())
