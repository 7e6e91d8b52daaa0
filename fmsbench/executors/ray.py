"""The `ray` executor: the local pool's job functions as Ray tasks, on a local instance or a cluster.

Each job is one task asking for 1 CPU and `gpus_per_job` GPUs; a task that fails (an exception or a lost
worker) is retried up to `max_retries` times, which is safe because every job writes its output atomically
and is a function of its seed. On a cluster every node needs the same fmsbench installed, and the paths jobs
read and write (hub --out folder, data root, hub files and results of runs) must be one shared filesystem
mounted at the same place.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import ray
from ray.util.queue import Queue

from fmsbench.executors.base import POLL_SECONDS, Report, assign_device, single_thread

J = TypeVar("J")
R = TypeVar("R")


class RayExecutor:
    """Connects on construction: `address` None starts a local instance of `workers` CPUs (default: all cores);
    "auto" joins the cluster this machine belongs to; "ray://host:10001" connects to a remote one.

    gpus_per_job: None gives each job an equal share of the cluster's GPUs (GPUs / CPUs, at most 1), so a
    cluster without GPUs trains on CPUs and one with GPUs keeps every CPU slot busy; 0 forces CPU training.
    Reuses a Ray connection that is already open (then `address` and `workers` are ignored).
    """

    def __init__(self, workers: int | None = None, address: str | None = None, gpus_per_job: float | None = None,
                 max_retries: int = 2, **_: Any) -> None:
        if not ray.is_initialized():
            local = {"num_cpus": workers, "include_dashboard": False} if address is None else {}
            ray.init(address=address, logging_level=logging.WARNING, **local)
        self.gpus_per_job = _default_gpus(ray.cluster_resources()) if gpus_per_job is None else gpus_per_job
        self.max_retries = max_retries

    def run(self, fn: Callable[..., R], jobs: Sequence[J], on_report: Report | None = None) -> Iterator[R]:
        task = ray.remote(_call).options(num_cpus=1, num_gpus=self.gpus_per_job, max_retries=self.max_retries,
                                         retry_exceptions=True)
        queue = None if on_report is None else Queue(actor_options={"num_cpus": 0})
        extra = () if queue is None else (queue.put_nowait,)
        fn_ref = ray.put(fn)  # shipped once, not once per job
        pending = [task.remote(fn_ref, job, *extra) for job in jobs]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=POLL_SECONDS if queue else None)
                if queue is not None:
                    for message in queue.get_nowait_batch(queue.qsize()):
                        on_report(message)
                for ref in done:
                    yield _result(ref)
        finally:  # an error, Ctrl-C or an abandoned generator: no task keeps running (ray.init's atexit stops Ray)
            for ref in pending:
                ray.cancel(ref)
            if queue is not None:
                queue.shutdown()


    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to release: tasks end with their runs, and ray.init's exit hook stops a local instance."""


def _call(fn: Callable[..., R], job: J, *report: Report) -> R:
    single_thread()
    assign_device("cuda" if ray.get_gpu_ids() else "cpu")  # Ray makes the task's GPUs the visible ones
    return fn(job, *report)


def _result(ref: ray.ObjectRef) -> Any:
    """The task's value; a job's own exception is re-raised as itself (one-line errors stay one line)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        raise error.cause from error


def _default_gpus(resources: dict[str, float]) -> float:
    gpus, cpus = resources.get("GPU", 0.0), resources.get("CPU", 1.0)
    return math.floor(min(1.0, gpus / max(cpus, 1.0)) * 1e4) / 1e4  # Ray accepts 4 decimals
