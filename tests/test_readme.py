"""The README's Python blocks run as written: the public API (Library use), Syne Tune simulating an export, and
an Optuna study and a Syne Tune scheduler tuning a hub. They run in one subprocess (the API block registers a
method, which must not leak into this session), in a folder holding the tiny PTM hub as hubs/ptm.h5 and its
Syne Tune export as exports/ptm."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmsbench.hub.export import export_hub

WORKTREE = Path(__file__).resolve().parents[1]
README = (WORKTREE / "README.md").read_text()
SECTIONS = {"Library use": (), "Exporting a hub (Syne Tune, pandas)": ("syne_tune", "fastparquet"),
            "Optuna and Syne Tune": ("optuna", "syne_tune")}
RUNNER = """
import sys
for name, path in zip(sys.argv[1::2], sys.argv[2::2]):
    print(f"--- {name}", flush=True)
    exec(compile(open(path).read(), f"README.md ({name})", "exec"), {"__name__": "__main__"})
"""


def python_block(heading: str) -> str:
    """The first ```python block after the heading `heading` (any level), before the next heading."""
    section = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", README, re.M | re.S)
    assert section, f"README.md has no section '{heading}'"
    block = re.search(r"^```python\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, f"README.md section '{heading}' has no python block"
    return block.group(1)


def test_readme_python_blocks_run_as_written(tiny_ptm_hub: Path, tmp_path: Path) -> None:
    for heading, modules in SECTIONS.items():
        for module in modules:
            pytest.importorskip(module)
    (tmp_path / "hubs").mkdir()
    shutil.copy(tiny_ptm_hub, tmp_path / "hubs" / "ptm.h5")
    export_hub(tmp_path / "hubs" / "ptm.h5", "syne-tune", tmp_path / "exports" / "ptm")
    args = []
    for index, heading in enumerate(SECTIONS):
        block = tmp_path / f"block{index}.py"
        block.write_text(python_block(heading))
        args += [heading, str(block)]
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "SYNETUNE_FOLDER": str(tmp_path / "syne-tune")}
    done = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout
    assert "regret after 20 epochs" in output
    assert {"random", "greedy"} <= set(re.findall(r"\b(random|greedy)\b", output))
    assert (tmp_path / "results" / "ptm-tiny" / "shapes" / "greedy" / "seed1.json").is_file()
    assert any((tmp_path / "syne-tune").rglob("results.csv.zip"))
