"""fmsbench: build model hubs, replay checkpoint-aware HPO methods over them, report Kendall's tau and regret.

The public API, imported on first use so that `fmsbench --help` stays fast::

    from fmsbench import Benchmark, Method, Observation, Proposal, replay, run_sweep, load_results, build_report

- `Benchmark(hub, task)`: a read-only view of one task of a hub file;
- `Method`, `Proposal`, `Observation`: what an HPO method implements, answers and sees (`METHODS` registers one);
- `replay(method, bench, budget)`: one run, every epoch charged, only paid data revealed;
- `run_sweep(methods, hubs, ...)`: many runs, written as trajectory files (what `fmsbench run` does);
- `load_results(folder)`: those files as one pandas DataFrame, a row per step;
- `build_report(folder)`: Kendall's tau and regret tables (what `fmsbench report` prints).
"""

import importlib
import warnings
from typing import Any

from fmsbench.version import __version__

_PUBLIC = {  # name -> the module that defines it
    "Benchmark": "fmsbench.hub.benchmark",
    "Method": "fmsbench.replay.protocol",
    "Proposal": "fmsbench.replay.protocol",
    "Observation": "fmsbench.replay.observation",
    "METHODS": "fmsbench.methods",
    "run_sweep": "fmsbench.runs.sweep",
    "load_results": "fmsbench.runs.results",
    "build_report": "fmsbench.report",
}
__all__ = ["__version__", "replay", *_PUBLIC]

# torch-geometric and gpytorch still call torch.jit.script at import; the deprecation is theirs to fix, and
# printing it above every command's output helps no user.
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)


def __getattr__(name: str) -> Any:
    if name == "replay":  # the callable package fmsbench.replay (see its docstring)
        return importlib.import_module("fmsbench.replay")
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fmsbench' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
