"""Where a hub was built or a run replayed, as far as its floating-point results depend on it.

Seeds make a build or a run repeat exactly on the same machine, but not across machines: torch picks its CPU
kernels by the instruction set it finds (`torch.backends.cpu.get_cpu_capability()`), and kernels for different
instruction sets round differently (README, "Reproducibility": a hub built with ATen's AVX2 kernels differs from
one built with its AVX-512 kernels). Hubs and trajectories therefore record this, so that a figure that does not
repeat elsewhere can be traced.
"""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` says, else "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def numeric_environment(devices: list[str] | None = None) -> dict[str, str]:
    """Library versions, CPU and the instruction set torch's CPU kernels use, and the GPUs among `devices`
    ("cuda", "cuda:1"; default none) by name."""
    import numpy
    import torch

    environment = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
                   "cpu": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    gpus = sorted({torch.cuda.get_device_name(device) for device in devices or [] if device.startswith("cuda")})
    if gpus:
        environment["gpu"] = ", ".join(gpus)
    return environment


def describe(environment: dict[str, str]) -> str:
    """One line: 'torch 2.14.1 (CPU kernels AVX512), numpy 2.4.6, python 3.11.7 on AMD EPYC'; '' when unknown."""
    if not environment:
        return ""
    kernels = f" (CPU kernels {environment['cpu_capability']})" if "cpu_capability" in environment else ""
    where = " and ".join(filter(None, (environment.get("cpu"), environment.get("gpu"))))
    return (f"torch {environment.get('torch', '?')}{kernels}, numpy {environment.get('numpy', '?')}, "
            f"python {environment.get('python', '?')}" + (f" on {where}" if where else ""))
