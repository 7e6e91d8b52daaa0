"""The processes an isolated method runs in: they never hold the hub, its path or its handles.

`fmsbench.replay.isolation` starts a *server* as `python -m fmsbench.replay.worker <control fd> <loop pid>` in an
empty temporary folder, with an environment that does not name the hub. The server imports the method's code
once and then forks one *worker* per run (a zygote: a run pays a fork, not the imports); a worker starts from the
server's pristine state, never from an earlier run's, in its own empty folder.

Control messages (loop -> server, JSON, with a socket attached to `run`, each answered before the next is sent):
`preload` a module, `run` a method over the attached socket (the answer is the worker's pid), `close`. Over a run's socket the loop sends (pickled:
a worker trusts the loop) its import path, the method's factory and seed, then the run's public facts, then
requests, each carrying the curve values paid since the last one. The worker answers in JSON only, so that
nothing a method could forge is ever unpickled by the loop: `ready`, `proposal`, `forecast`, `settings`, `error`,
and `checkpoint` requests, which the loop serves only when its own ledger says they are paid for.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import socket
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch

from fmsbench.errors import FmsbenchError
from fmsbench.executors.base import exit_with_parent
from fmsbench.replay.observation import VISIBLE_METRICS, Observation, PublicFacts, UnpaidReadError
from fmsbench.replay.protocol import Method
from fmsbench.replay.seeding import seeded_torch

CONTROL_BYTES = 4096  # the largest control message, either way
PaidValues = list[tuple[int, int, np.ndarray]]  # (config, first epoch index, values [epochs, VISIBLE_METRICS])


def send(conn: Connection, **message: Any) -> None:
    """One JSON message to the loop (NaN and infinities as JSON's extensions, which Python reads back exactly)."""
    conn.send_bytes(json.dumps(message).encode())


class PaidCopy(Observation):
    """The worker's `Observation`: the public facts, a ledger and the paid curve values, all as the loop sent them;
    checkpoints are asked of the loop. Editing this copy changes nothing the loop checks."""

    def __init__(self, facts: PublicFacts, conn: Connection) -> None:
        self._ledger = np.zeros(len(facts.configs), np.int64)
        self._open(facts, self._ledger)
        self._values = np.full((self.n_configs, facts.max_epoch, len(VISIBLE_METRICS)), np.nan, np.float32)
        self._conn = conn

    def add(self, paid: PaidValues) -> None:
        for config, start, values in paid:
            self._values[config, start : start + len(values)] = values
            self._ledger[config] = start + len(values)

    def _read_curve(self, config: int, upto: int, metric: str) -> np.ndarray:
        return self._values[config, :upto, VISIBLE_METRICS.index(metric)].copy()

    def _read_checkpoint(self, config: int, epoch: int) -> dict[str, torch.Tensor]:
        send(self._conn, checkpoint=[config, epoch])
        kind, payload = self._conn.recv()
        if kind == "refused":
            raise UnpaidReadError(payload)
        return {name: torch.from_numpy(array) for name, array in payload.items()}


def serve(conn: Connection, method: Method) -> None:
    """Answer the loop's requests until it closes the run (or the method fails: the error is the last answer)."""
    obs: PaidCopy | None = None
    while True:
        try:
            kind, payload = conn.recv()
        except EOFError:
            return
        if kind == "close":
            return
        if kind == "start":
            obs = PaidCopy(payload, conn)
            continue
        if obs is not None:
            obs.add(payload["paid"])
        if kind == "propose":
            proposal = method.propose(obs)  # type: ignore[arg-type]
            send(conn, proposal=[int(proposal.config), int(proposal.epoch)], fit_seconds=float(method.fit_seconds))
        elif kind == "forecast":
            values = method.forecast(obs, payload["epochs"])  # type: ignore[arg-type]
            send(conn, forecast=None if values is None else np.asarray(values, float).tolist())
        elif kind == "settings":
            send(conn, settings=method.settings())


def _error(error: BaseException) -> dict[str, Any]:
    if isinstance(error, FmsbenchError):
        return {"message": str(error), "exit_code": error.exit_code, "parameters": list(error.parameters)}
    traceback.print_exception(error, file=sys.stderr)
    return {"message": f"{type(error).__name__}: {error} (traceback above)", "exit_code": 1, "parameters": []}


def run(conn: Connection) -> None:
    """One run in this worker: build the method as the runner would in-process, then serve the loop."""
    sys.path[:] = conn.recv()  # the loop's import path, before its factory can be unpickled
    factory, seed = conn.recv()
    with seeded_torch(seed):  # as the runner does around an in-process method: the same numbers
        try:
            method = factory()
            send(conn, ready={"has_surrogate": bool(method.has_surrogate)})
            serve(conn, method)
        except Exception as error:  # noqa: BLE001  (whatever the method raises, the loop gets it as one message)
            send(conn, error=_error(error))


def serve_forks(control: socket.socket) -> None:
    """The server: preload modules, fork a worker per run, until the loop closes the control socket."""
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        data, fds, _, _ = socket.recv_fds(control, CONTROL_BYTES, 1)
        message = json.loads(data) if data else {"close": True}
        if message.get("close"):
            return
        if "preload" in message:
            with contextlib.suppress(ImportError):  # the worker will say what is missing
                importlib.import_module(message["preload"])
            control.sendall(b'{"preloaded": true}')  # every message is answered: one in flight at a time
            continue
        pid = os.fork()
        if pid == 0:
            _worker(control, fds[0])
        os.close(fds[0])
        control.sendall(json.dumps({"pid": pid}).encode())


def _reap(signum: int, frame: object) -> None:
    """Collect finished workers at once (their times then count in this server's children's times)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _worker(control: socket.socket, run_fd: int) -> NoReturn:
    """A forked worker: in its own empty folder `run-<pid>` (the loop removes it), gone with the server, one run,
    then exit (no handler or finalizer of the server runs)."""
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        exit_with_parent(os.getppid())
        folder = worker_folder(Path.cwd(), os.getpid())
        folder.mkdir()
        os.chdir(folder)
        run(Connection(run_fd))
    finally:
        os._exit(0)


def worker_folder(server_folder: Path, pid: int) -> Path:
    return server_folder / f"run-{pid}"


def main() -> None:
    control_fd, loop = int(sys.argv[1]), int(sys.argv[2])
    folder = Path.cwd()  # the empty folder the loop made for this server and its workers
    exit_with_parent(loop, before_exit=lambda: shutil.rmtree(folder, ignore_errors=True))
    serve_forks(socket.socket(fileno=control_fd))


if __name__ == "__main__":
    main()
