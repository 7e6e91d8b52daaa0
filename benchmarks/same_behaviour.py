"""Check that a refactoring changed no numbers: builds, trajectories of every method, and hub contents.

    .venv/bin/python benchmarks/same_behaviour.py [--against a44ea78] [--budget 24]

Runs one workload twice, with the source tree of `--against` (a git revision, checked out into a temporary
worktree) and with this working tree, each through the command line (`python -m fmsbench`) so that it does not
depend on where modules live:

1. `build-hub ptm-tiny` and `build-hub simple-cnn-tiny`: every dataset and attribute of both hub files (except the
   creation time and the fmsbench version) is hashed;
2. `run --method all` on ptm-tiny, both tasks, seed 0, with the short surrogate settings of the CI experiment:
   every trajectory's numbers (except wall-clock fields) are compared.

Prints each difference and, as its last line, how many of the compared items are identical. Asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
VOLATILE_ATTRS = {"created", "fmsbench_version"}
VOLATILE_META = {"created", "wall_seconds", "hub_path", "fmsbench_version", "hub_fingerprint"}  # the fingerprint
VOLATILE_STEP = {"fit_seconds", "cum_seconds"}  # hashes the curves, which hold each epoch's wall seconds
SETTINGS = ("n_initial=4", "fit_steps=100", "refine_steps=20")


def hub_digest(path: Path) -> dict[str, str]:
    """sha256 of every dataset's bytes and every attribute, keyed by HDF5 path; curves without their wall-clock
    `seconds` column."""
    items: dict[str, str] = {}

    def visit(name: str, obj: h5py.HLObject) -> None:
        for key, value in obj.attrs.items():
            if key not in VOLATILE_ATTRS:
                items[f"{name}@{key}"] = hashlib.sha256(repr(value).encode()).hexdigest()[:16]
        if isinstance(obj, h5py.Dataset):
            values = obj[()]
            if name.endswith("curves"):
                values = np.delete(values, seconds, axis=-1)
            items[name] = hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]

    with h5py.File(path, "r") as h5:
        seconds = json.loads(h5.attrs["metrics"]).index("seconds")
        visit("/", h5)
        h5.visititems(visit)
    return items


def trajectories(results: Path) -> dict[str, dict]:
    """Every trajectory under `results` without its wall-clock fields, keyed by its relative path."""
    found = {}
    for path in sorted(results.rglob("seed*.json")):
        data = json.loads(path.read_text())
        data["meta"] = {k: v for k, v in data["meta"].items() if k not in VOLATILE_META}
        data["steps"] = [{k: v for k, v in step.items() if k not in VOLATILE_STEP} for step in data["steps"]]
        found[str(path.relative_to(results))] = data
    return found


def workload(source: Path, work: Path, budget: int) -> dict[str, object]:
    """Build both tiny hubs and replay every method with the code of `source`; return what to compare."""
    env = {**os.environ, "PYTHONPATH": str(source)}

    def cli(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "fmsbench", *args], cwd=work, env=env, check=True,
                       stdout=subprocess.DEVNULL)

    for recipe in ("ptm-tiny", "simple-cnn-tiny"):
        cli("build-hub", recipe, "--out", "hubs", "--workers", "1")
    settings = [arg for setting in SETTINGS for arg in ("--setting", setting)]
    cli("run", "--method", "all", "--hub", "hubs/ptm-tiny.h5", "--task", "all", "--seeds", "0", "--budget",
        str(budget), "--tau-budgets", f"{budget // 2},{budget}", "--out", "results", *settings)
    return {"hubs": {name: hub_digest(work / "hubs" / f"{name}.h5") for name in ("ptm-tiny", "simple-cnn-tiny")},
            "trajectories": trajectories(work / "results")}


def compare(before: dict, after: dict) -> tuple[int, int]:
    same = total = 0
    for section in ("hubs", "trajectories"):
        for key in sorted(set(before[section]) | set(after[section])):
            total += 1
            if before[section].get(key) == after[section].get(key):
                same += 1
            else:
                print(f"differs: {section} {key}")
    return same, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="a44ea78", help="git revision to compare this working tree with")
    parser.add_argument("--budget", type=int, default=24, help="epochs per run (ptm-tiny holds 8 x 3 = 24)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-behaviour-") as tmp:
        tmp = Path(tmp)
        old = tmp / "source"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.against], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            (tmp / "before").mkdir()
            (tmp / "after").mkdir()
            before = workload(old, tmp / "before", args.budget)
            after = workload(ROOT, tmp / "after", args.budget)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=True)
    runs = len(after["trajectories"])
    same, total = compare(before, after)
    print(f"{same} of {total} identical ({runs} trajectories, hub datasets and attributes of 2 tiny builds) "
          f"between {args.against} and this working tree")


if __name__ == "__main__":
    main()
