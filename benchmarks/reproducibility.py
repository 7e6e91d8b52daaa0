"""Does a hub build repeat? The same recipe built three times, each in a fresh process: with 1 worker, with 2
workers, and with torch's CPU kernels capped one instruction set below this machine's (ATEN_CPU_CAPABILITY, as
on an older CPU). Prints, against the first build, how many of the hub's datasets differ and by how much (the
per-epoch seconds column left out: it is a timing).

    python benchmarks/reproducibility.py [--recipe ptm-tiny]

Expected: the worker count changes nothing; another instruction set changes weights and curves slightly, which
is why hubs and trajectories record their environment (`fmsbench.provenance`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch

from fmsbench.hub.store import METRICS

BUILD = ("import sys; from fmsbench.build.builder import build_hub; from fmsbench.build.recipe import load_recipe\n"
         "if __name__ == '__main__':\n"
         "    print(build_hub(load_recipe(sys.argv[1]), sys.argv[2], workers=int(sys.argv[3])).path)")
LOWER = {"AVX512": "avx2", "AVX2": "default"}  # ATEN_CPU_CAPABILITY values one level down


def build(recipe: str, out: Path, workers: int, capability: str | None = None) -> Path:
    environment = {**os.environ, **({"ATEN_CPU_CAPABILITY": capability} if capability else {})}
    script = out.parent / "build.py"
    script.write_text(BUILD)
    done = subprocess.run([sys.executable, str(script), recipe, str(out), str(workers)], env=environment,
                          capture_output=True, text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def datasets(path: Path) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    with h5py.File(path) as h5:
        h5.visititems(lambda name, item: found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    seconds = METRICS.index("seconds")
    return {name: np.delete(data, seconds, axis=-1) if name.endswith("curves") else data
            for name, data in found.items()}


def compare(first: Path, other: Path) -> str:
    a, b = datasets(first), datasets(other)
    differ = [name for name in a if not np.array_equal(a[name], b[name], equal_nan=True)]
    if not differ:
        return f"identical ({len(a)} datasets)"
    largest = {kind: max((float(np.nanmax(np.abs(a[n].astype(float) - b[n].astype(float))))
                          for n in differ if n.endswith(kind)), default=0.0) for kind in ("weights", "curves")}
    return (f"{len(differ)} of {len(a)} datasets differ; largest difference: weights {largest['weights']:.2g}, "
            f"curves (accuracy, loss) {largest['curves']:.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="ptm-tiny")
    args = parser.parse_args()
    here = torch.backends.cpu.get_cpu_capability()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        first = build(args.recipe, root / "one-worker", 1)
        print(f"{args.recipe}, CPU kernels {here}: 1 worker vs 2 workers: "
              f"{compare(first, build(args.recipe, root / 'two-workers', 2))}")
        if here in LOWER:
            other = build(args.recipe, root / "lower", 1, LOWER[here])
            print(f"{args.recipe}: CPU kernels {here} vs {LOWER[here].upper()}: {compare(first, other)}")
        else:
            print(f"CPU kernels {here}: no lower instruction set to compare with")


if __name__ == "__main__":
    main()
