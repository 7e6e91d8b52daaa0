"""Run a method in its own worker process, so that what it learns is what it paid for, whatever it tries.

In the replay loop's process a method could reach the whole hub around its `Observation`: the name-mangled
Benchmark, the loop's frame locals (sys._getframe, inspect), gc.get_objects, h5py's open file ids, /proc/self/fd,
sys.argv, or the ledger of trained epochs it could edit. `IsolatedMethod` is a `Method` for the loop whose real
method runs in a worker (`fmsbench.replay.worker`) that:

- descends from a fresh interpreter, the method server, started like multiprocessing's spawn (exec, nothing
  inherited) but with subprocess, so that its argv, environment and working directory are set before it starts
  rather than patched afterwards. The server imports the method's code once and forks a worker per run, so a run
  pays a fork instead of seconds of imports, and starts from the server's pristine state, never from another
  run's. Neither ever opens the hub or holds the loop's objects or file descriptors (a worker has its socket to
  the loop, stdin from /dev/null, stdout and stderr);
- runs in its own empty temporary folder, with argv `-m fmsbench.replay.worker <fd> <pid>` and an environment
  without the variables that name the hub (any form of its path, or its file name) or the loop's working folder;
- holds only paid data: the public facts, and before each request the curve values paid since the last one (test
  metrics never); it asks for checkpoints, which the loop serves only when its own ledger says they are paid, so
  editing the worker's ledger (or forging requests on its socket) gains nothing;
- answers in JSON only (proposals, forecasts, settings, errors), so nothing it sends is ever unpickled by the loop.

A worker seeds torch, uses one thread and deterministic algorithms exactly as the runner does in-process, and
gets the same public facts and paid values, so a run gives bit-identical trajectories either way.

What isolation does not stop (it is not a sandbox): a method runs as the same user, so it can open any file it
can find or guess (a hub under hubs/, or the loop's own files through /proc/<loop pid>/fd, /proc/<loop pid>/cwd and
/proc/<loop pid>/cmdline: the server's parent is the loop), and the code of a plugin's module also runs in the
command's own process when the method registry loads it. What it guarantees is that a method cannot learn unpaid
data through fmsbench: not through its Observation, the interpreter it runs in, or its messages to the loop.
Isolation needs os.fork (Linux, macOS).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from fmsbench.errors import FmsbenchError
from fmsbench.replay.observation import VISIBLE_METRICS, Observation, UnpaidReadError
from fmsbench.replay.protocol import Method, Proposal
from fmsbench.replay.worker import CONTROL_BYTES, worker_folder

MAX_MESSAGE = 64 * 2**20  # bytes of one message from a worker (a forecast of 2000 configs is ~50 KB)
FOLDER_PREFIX = "fmsbench-methods-"  # + the loop's pid: a server's folder in the temporary folder
CLOSE_SECONDS = 10.0  # how long a closed worker may take to exit before it is killed
MethodFactory = Callable[[], Method]


class MethodWorkerError(FmsbenchError):
    """An isolated method failed: it raised an error, its worker ended, or it sent what the protocol does not allow."""


class IsolatedMethod(Method):
    """The replay loop's stand-in for a method that runs in its own worker process (see the module docstring).

    Args:
        factory: builds the method in the worker; pickled, so a module-level function or a partial of one.
        seed: torch's generator is seeded with it in the worker, around the factory and the whole run.
        hidden: paths the worker's environment must not mention (the hub file).
    """

    def __init__(self, factory: MethodFactory, seed: int, hidden: Sequence[str | Path] = ()) -> None:
        super().__init__()
        ours, theirs = socket.socketpair()
        self._server = server_for(hidden)
        with theirs:
            self._pid = self._server.fork(theirs, getattr(factory, "func", factory).__module__)
        self._conn = Connection(ours.detach())
        self._sent: np.ndarray | None = None  # the ledger as the worker knows it
        try:
            self._conn.send([os.path.abspath(entry) for entry in sys.path])
            self._conn.send((factory, seed))
            ready = self._answer(None, "ready")["ready"]
            if not isinstance(ready, dict) or not isinstance(ready.get("has_surrogate"), bool):
                raise self._broken("its ready message")
        except BaseException:
            self.close()
            raise
        self.has_surrogate = ready["has_surrogate"]  # type: ignore[misc]

    # ----------------------------------------------------------------- the Method interface
    def propose(self, obs: Observation) -> Proposal:
        self._request(obs, "propose")
        answer = self._answer(obs, "proposal")
        proposal, seconds = answer["proposal"], answer.get("fit_seconds")
        if not (isinstance(proposal, list) and len(proposal) == 2 and all(map(_is_int, proposal))
                and _is_number(seconds)):
            raise self._broken("a proposal")
        self.fit_seconds = float(seconds)
        return Proposal(*proposal)

    def forecast(self, obs: Observation, epochs: np.ndarray) -> np.ndarray | None:
        self._request(obs, "forecast", epochs=np.asarray(epochs))
        values = self._answer(obs, "forecast")["forecast"]
        if values is None:
            return None
        if not (isinstance(values, list) and len(values) == obs.n_configs and all(map(_is_number, values))):
            raise self._broken(f"a forecast (it must be {obs.n_configs} numbers, one per config)")
        return np.array(values, dtype=float)

    def settings(self) -> dict[str, Any]:
        self._conn.send(("settings", {"paid": []}))
        settings = self._answer(None, "settings")["settings"]
        if not isinstance(settings, dict):
            raise self._broken("its settings")
        return settings

    def close(self) -> None:
        """End the worker (killed if it does not exit within CLOSE_SECONDS) and remove its folder."""
        with contextlib.suppress(OSError):
            self._conn.send(("close", None))
        self._conn.close()
        deadline = time.monotonic() + CLOSE_SECONDS
        while _alive(self._pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        shutil.rmtree(worker_folder(self._server.folder, self._pid), ignore_errors=True)

    # ----------------------------------------------------------------- the protocol
    def _request(self, obs: Observation, kind: str, **payload: Any) -> None:
        """Send a request with every curve value paid since the last one (the public facts first, once)."""
        trained = obs.trained()
        if self._sent is None:
            self._conn.send(("start", obs.public_facts()))
            self._sent = np.zeros_like(trained)
        paid = [(int(c), int(self._sent[c]),
                 np.stack([obs.curve(int(c), metric)[self._sent[c]:] for metric in VISIBLE_METRICS], axis=1))
                for c in np.flatnonzero(trained != self._sent)]
        self._conn.send((kind, {"paid": paid, **payload}))
        self._sent = trained

    def _answer(self, obs: Observation | None, expected: str) -> dict[str, Any]:
        """The worker's answer to the last request, serving its checkpoint requests meanwhile."""
        while True:
            message = self._receive()
            if "checkpoint" in message and obs is not None:
                self._serve_checkpoint(obs, message["checkpoint"])
            elif "error" in message:
                raise self._failed(message["error"])
            elif expected in message:
                return message
            else:
                raise self._broken(f"{sorted(message)[:3]} where it should send {expected}")

    def _serve_checkpoint(self, obs: Observation, request: Any) -> None:
        """Send a checkpoint the loop's own ledger says is paid, or refuse it (whatever the worker's copy says)."""
        if not (isinstance(request, list) and len(request) == 2 and all(map(_is_int, request))):
            raise self._broken("a checkpoint request")
        try:
            state = obs.checkpoint(*request)
        except (UnpaidReadError, ValueError, TypeError) as error:
            self._conn.send(("refused", str(error)))
            return
        self._conn.send(("checkpoint", {name: tensor.numpy() for name, tensor in state.items()}))

    def _receive(self) -> dict[str, Any]:
        try:
            data = self._conn.recv_bytes(MAX_MESSAGE)
        except (EOFError, ConnectionError):
            raise MethodWorkerError("the method's worker process ended unexpectedly") from None
        except OSError:
            raise self._broken(f"a message over {MAX_MESSAGE} bytes") from None
        try:
            message = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise self._broken("a message that is not JSON") from None
        if not isinstance(message, dict):
            raise self._broken("a message that is not a JSON object")
        return message

    def _failed(self, error: Any) -> MethodWorkerError:
        """The method's own error, raised again here with its message, exit code and parameters."""
        if not (isinstance(error, dict) and isinstance(error.get("message"), str)):
            return self._broken("an error without a message")
        parameters = error.get("parameters", [])
        failure = MethodWorkerError(error["message"].splitlines()[0] if error["message"] else "the method failed",
                                    parameters=tuple(p for p in parameters if isinstance(p, str))
                                    if isinstance(parameters, list) else ())
        code = error.get("exit_code")
        failure.exit_code = code if _is_int(code) and 1 <= code <= 125 else 1
        return failure

    def _broken(self, what: str) -> MethodWorkerError:
        return MethodWorkerError(f"the method's worker sent {what}, which the replay protocol does not allow")


class MethodServer:
    """A pre-imported interpreter that forks one worker per run (`fmsbench.replay.worker`): workers pay a fork, not
    the imports of torch and the method's code. It is started fresh (never forked from this process), in an empty
    folder, with an environment that does not name `hidden`; it ends with this process (at its exit, or by its
    watchdog, which also removes its folder, if this process is killed)."""

    def __init__(self, hidden: Sequence[str | Path]) -> None:
        self.environment = worker_environment(hidden)
        _remove_stale_folders()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        self._control, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "fmsbench.replay.worker", str(theirs.fileno()), str(os.getpid())],
                cwd=self.folder, env=self.environment, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        self._preloaded: set[str] = set()

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def fork(self, run_socket: socket.socket, module: str) -> int:
        """Start a worker serving a run over `run_socket`, after importing `module` here once; its pid."""
        try:
            if module not in self._preloaded:
                self._control.sendall(json.dumps({"preload": module}).encode())
                self._control.recv(CONTROL_BYTES)
                self._preloaded.add(module)
            socket.send_fds(self._control, [json.dumps({"run": True}).encode()], [run_socket.fileno()])
            answer = json.loads(self._control.recv(CONTROL_BYTES) or b"{}")
        except (OSError, ValueError):
            answer = {}
        if not _is_int(answer.get("pid")):
            raise MethodWorkerError("the method server ended unexpectedly; rerun (see the error above, if any)")
        return answer["pid"]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._control.sendall(json.dumps({"close": True}).encode())
        self._control.close()
        try:
            self._process.wait(timeout=CLOSE_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_server: MethodServer | None = None


def server_for(hidden: Sequence[str | Path]) -> MethodServer:
    """This process's method server, fit for runs that hide `hidden`: one is started again only if the running
    one's environment names a hidden path (it was started for another hub, with that variable set)."""
    global _server
    forms = _forms(hidden)
    if _server is None or not _server.alive() or \
            any(form in value for value in _server.environment.values() for form in forms):
        close_server()
        _server = MethodServer(hidden)
    return _server


def close_server() -> None:
    global _server
    if _server is not None:
        _server.close()
        _server = None


# At exit of this process, also when it is a multiprocessing worker (which skips atexit handlers).
multiprocessing.util.Finalize(None, close_server, exitpriority=10)


def _remove_stale_folders() -> None:
    """Remove the folders of servers whose loop process is gone (a server killed with it, e.g. by Ray's cleanup,
    cannot remove its own)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        owner = folder.name.removeprefix(FOLDER_PREFIX).partition("-")[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _forms(hidden: Sequence[str | Path]) -> set[str]:
    """The ways a variable could name a hidden path: as given, resolved, or by its file name."""
    return {form for path in hidden for form in (str(path), str(Path(path).resolve()), Path(path).name) if form}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def worker_environment(hidden: Sequence[str | Path]) -> dict[str, str]:
    """This process's environment for a method's worker: without variables that mention a hidden path (as given,
    resolved, or its file name) or this process's working directory (PWD, OLDPWD), and with PYTHONPATH set to this
    process's import path so that the worker imports the same code."""
    forms = _forms(hidden)
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("PWD", "OLDPWD") and not any(form in value for form in forms)}
    environment["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) for entry in sys.path)
    return environment


@contextlib.contextmanager
def open_method(factory: MethodFactory, seed: int, *, isolate: bool,
                hidden: Sequence[str | Path] = ()) -> Iterator[Method]:
    """The method `factory` builds: in this process (the caller seeds torch around it), or with `isolate` in its
    own worker (see `IsolatedMethod`), which is ended when the block exits."""
    if not isolate:
        yield factory()
        return
    method = IsolatedMethod(factory, seed, hidden)
    try:
        yield method
    finally:
        method.close()
