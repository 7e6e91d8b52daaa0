"""A method that tries every trick of issue 13 to learn what it has not paid for, and reports its loot as a setting.

At its second proposal (config 0 has 1 epoch paid, nothing else) it tries each trick; a trick's loot is None when it
learnt nothing, else what it got: the final validation accuracy of every config (hub-reading tricks), or the unpaid
values named in `TRICKS`. The tests compare the loot with the hub's true values.
"""

from __future__ import annotations

import gc
import inspect
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fmsbench.replay import Method, Observation, Proposal, UnpaidReadError

HUB_READERS = ("name-mangled bench", "frame locals", "inspect.stack", "gc objects", "h5py open ids", "/proc/self/fd",
               "sys.argv", "environment", "working directory", "edited ledger")
INTERFACE = ("metric=None", "metric str subclass", "upto object", "epoch object", "forged checkpoint request")
TRICKS = HUB_READERS + INTERFACE


def finals_of_hub_file(path: str | Path) -> list[float]:
    """Final val acc of every config, read straight from a hub file (any task; these hubs have one)."""
    with h5py.File(path, "r") as h5:
        return _finals(h5)


def _finals(h5: h5py.File) -> list[float]:
    metrics = json.loads(h5.attrs["metrics"])
    task = sorted(h5["tasks"])[0]
    return h5[f"tasks/{task}/curves"][:, -1, metrics.index("val_acc")].tolist()


def _hub_paths(texts: list[str]) -> list[str]:
    return [word for text in texts for word in text.replace("=", " ").replace("\0", " ").split() if word.endswith(".h5")]


class Sneaky:
    """Compares like 0 (never greater than anything), adds like a large number: slipped past `upto > paid` checks."""

    def __gt__(self, other: object) -> bool:
        return False

    def __lt__(self, other: object) -> bool:
        return False

    def __le__(self, other: object) -> bool:
        return True

    def __ge__(self, other: object) -> bool:
        return True

    def __add__(self, other: object) -> int:
        return 10**6

    def __index__(self) -> int:  # what operator.index sees: a real int, then checked
        return 10**6


class AlwaysEqual(str):
    """A metric name equal to every name."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("val_acc")


class Thief(Method):
    has_surrogate = False

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.loot: dict[str, Any] = {}
        self.refused: dict[str, str] = {}  # trick -> the exception that stopped it
        self.kept: list[h5py.File] = []

    def propose(self, obs: Observation) -> Proposal:
        if obs.epochs(0) == 1 and not self.loot:
            for trick in TRICKS:
                try:
                    self.loot[trick] = getattr(self, "_" + re.sub(r"[^a-z0-9]+", "_", trick.lower()).strip("_"))(obs)
                except Exception as error:  # noqa: BLE001  (a trick that fails learnt nothing)
                    self.loot[trick], self.refused[trick] = None, type(error).__name__
        config = int(obs.candidates()[0])
        return Proposal(config, obs.epochs(config) + 1)

    def settings(self) -> dict[str, Any]:
        return {"loot": self.loot, "refused": self.refused}

    # ----------------------------------------------------------------- reading the hub around the interface
    def _name_mangled_bench(self, obs: Observation) -> list[float]:
        return obs._Observation__bench.all_curves("val_acc")[:, -1].tolist()  # type: ignore[attr-defined]

    def _frame_locals(self, obs: Observation) -> list[float] | None:
        frame = sys._getframe(1)
        while frame is not None:
            found = _loot_in(frame.f_locals.values(), obs)
            if found is not None:
                return found
            frame = frame.f_back
        return None

    def _inspect_stack(self, obs: Observation) -> list[float] | None:
        return next((found for info in inspect.stack() if (found := _loot_in(info.frame.f_locals.values(), obs))),
                    None)

    def _gc_objects(self, obs: Observation) -> list[float] | None:
        return _loot_in(gc.get_objects(), obs)

    def _h5py_open_ids(self, obs: Observation) -> list[float] | None:
        for fid in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
            h5 = h5py.File(fid)
            self.kept.append(h5)  # never closed nor collected: that would close the loop's own handle
            if "tasks" in h5:
                return _finals(h5)
        return None

    def _proc_self_fd(self, obs: Observation) -> list[float] | None:
        links = []
        for fd in list(Path("/proc/self/fd").iterdir()):
            try:
                links.append(os.readlink(fd))
            except OSError:  # the folder listing's own descriptor, closed by now
                continue
        return _first_hub(_hub_paths(links))

    def _sys_argv(self, obs: Observation) -> list[float] | None:
        return _first_hub(_hub_paths(sys.argv))

    def _environment(self, obs: Observation) -> list[float] | None:
        return _first_hub(_hub_paths([*os.environ.values(), Path("/proc/self/environ").read_text(errors="replace")]))

    def _working_directory(self, obs: Observation) -> list[float] | None:
        return _first_hub([str(p) for p in Path.cwd().glob("*.h5")])

    def _edited_ledger(self, obs: Observation) -> list[float] | None:
        ledgers = [v for v in vars(obs).values() if isinstance(v, np.ndarray) and v.shape == (obs.n_configs,)]
        finals = []
        for ledger in ledgers:
            saved = ledger.copy()
            ledger[:] = obs.max_epoch  # every config "trained", nothing charged ...
            try:
                finals = [float(obs.curve(c)[-1]) for c in range(obs.n_configs)]
                obs.checkpoint(obs.n_configs - 1, obs.max_epoch)  # ... and an unpaid checkpoint
            finally:
                ledger[:] = saved  # ... and the budget still shows nothing spent
            if np.isfinite(finals).all():
                return finals
        return None

    # ----------------------------------------------------------------- the interface itself
    def _metric_none(self, obs: Observation) -> list[float]:
        return obs.curve(0, metric=None).ravel().tolist()  # type: ignore[arg-type]

    def _metric_str_subclass(self, obs: Observation) -> list[float]:
        return obs.curve(0, metric=AlwaysEqual("test_acc")).tolist()

    def _upto_object(self, obs: Observation) -> list[float]:
        return obs.curve(0, upto=Sneaky()).tolist()  # type: ignore[arg-type]

    def _epoch_object(self, obs: Observation) -> float:
        return float(sum(t.sum() for t in obs.checkpoint(1, Sneaky()).values()))  # type: ignore[arg-type]

    def _forged_checkpoint_request(self, obs: Observation) -> float | None:
        from multiprocessing.connection import Connection

        for conn in (o for o in gc.get_objects() if type(o) is Connection):  # the worker's socket to the loop
            conn.send_bytes(json.dumps({"checkpoint": [1, obs.max_epoch]}).encode())
            kind, payload = conn.recv()
            if kind == "refused":
                raise UnpaidReadError(payload)
            return float(sum(array.sum() for array in payload.values()))
        return None


def _loot_in(objects: Any, obs: Observation) -> list[float] | None:
    """The loop's arrays ([config, epoch 0..E] val or test acc) or any hub object among `objects`."""
    for value in list(objects):
        name = type(value).__name__
        if name in ("Benchmark", "HubFile") and hasattr(value, "path"):
            return finals_of_hub_file(value.path)
        if isinstance(value, h5py.File) and value.id.valid:
            return _finals(value)
        if isinstance(value, np.ndarray) and value.shape == (obs.n_configs, obs.max_epoch + 1):
            return value[:, -1].tolist()
    return None


def _first_hub(paths: list[str]) -> list[float] | None:
    for path in paths:
        if Path(path).is_file():
            return finals_of_hub_file(path)
    return None
