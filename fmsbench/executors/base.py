"""What every executor offers: run independent jobs and yield their results as they finish.

Results do not depend on the executor: every job seeds itself and runs single-threaded.

Progress from inside a job: with `on_report`, the job function is called as `fn(job, report)`, and every
`report(message)` made in a worker reaches `on_report(message)` in the calling process while jobs run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import torch

from fmsbench.errors import FmsbenchError

J = TypeVar("J")
R = TypeVar("R")
Report = Callable[[Any], None]
POLL_SECONDS = 0.2  # how often reports are forwarded while jobs run
ORPHAN_POLL_SECONDS = 1.0  # how often a worker process checks that its parent is alive


class Executor(Protocol):
    """Runs jobs; a context manager that releases its workers (or connection) on exit, so that the several
    `run`s of one build or sweep share them."""

    gpus_per_job: float  # GPUs each job is given; training jobs run on cuda when > 0

    def run(self, fn: Callable[..., R], jobs: Sequence[J], on_report: Report | None = None) -> Iterator[R]: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


_DEVICE = {"this process": "cpu"}  # the device an executor gave this worker process


def assign_device(device: str) -> None:
    """Give this process a device (a local pool worker its GPU, a Ray task "cuda" when it was given GPUs)."""
    _DEVICE["this process"] = device


def worker_device() -> str:
    """The device this process's jobs train on: "cpu" unless an executor assigned one."""
    return _DEVICE["this process"]


def resolve_devices(device: str) -> list[str]:
    """The devices `device` names: "auto" (every visible GPU, else the CPU), "cpu", "cuda" (every GPU) or
    "cuda:N" (GPU N only)."""
    count = torch.cuda.device_count()
    if device == "auto":
        return [f"cuda:{i}" for i in range(count)] or ["cpu"]
    if device == "cpu":
        return ["cpu"]
    if device == "cuda" and count:
        return [f"cuda:{i}" for i in range(count)]
    index = device.removeprefix("cuda:")
    if device.startswith("cuda:") and index.isdigit() and int(index) < count:
        return [device]
    visible = f"GPUs cuda:0..cuda:{count - 1}" if count else "no GPU"
    raise FmsbenchError(f"device must be auto, cpu, cuda or cuda:N; '{device}' is not available here ({visible})",
                        parameters=("device",))


def single_thread() -> None:
    """One torch/OpenMP thread per worker: results match across executors and workers do not oversubscribe."""
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"


def exit_with_parent(parent: int, before_exit: Callable[[], None] | None = None) -> None:
    """End this worker process within ORPHAN_POLL_SECONDS of the death of its parent, the process `parent` (a killed
    parent's workers would otherwise wait on their queue forever, holding their memory), after `before_exit` (e.g.
    removing its temporary folder). The parent passes its pid: a worker that starts after its parent died must not
    take its new parent (init) for it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_SECONDS)
        if before_exit is not None:
            before_exit()
        os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()
