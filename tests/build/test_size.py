"""The size of a hub is projected before anything trains: a lower bound close to the real size, and a recipe whose
hub cannot fit on disk is refused in one line before any job starts."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
from typer.testing import CliRunner

from fmsbench.build.plan import make_plan
from fmsbench.build.recipe import RECIPES_DIR, load_recipe
from fmsbench.build.size import human_bytes, project_hub_size
from fmsbench.cli import app


def _uncompressed_bytes(hub: Path) -> dict[str, int]:
    sizes = {"weights": 0, "curves": 0}
    with h5py.File(hub) as h5:
        def visit(name: str, item: object) -> None:
            if isinstance(item, h5py.Dataset) and name.startswith("tasks/"):
                kind = "weights" if "/weights/" in name else "curves" if name.endswith("curves") else None
                if kind:
                    sizes[kind] += item.size * item.dtype.itemsize
        h5.visititems(visit)
    return sizes


def test_the_projection_is_a_close_lower_bound(tiny_ptm_hub: Path) -> None:
    projection = project_hub_size(make_plan(load_recipe("ptm-tiny")))
    real = _uncompressed_bytes(tiny_ptm_hub)
    assert projection.curves == real["curves"]
    assert 0.9 * real["weights"] <= projection.weights <= real["weights"]  # 2-class heads vs the tasks' 10 classes


def test_an_impossible_hub_is_refused_before_any_job(tmp_path: Path) -> None:
    recipe = tmp_path / "huge.toml"
    recipe.write_text((RECIPES_DIR / "ptm-tiny.toml").read_text().replace("epochs = 3", "epochs = 100000000000"))
    result = CliRunner().invoke(app, ["build-hub", str(recipe), "--out", str(tmp_path / "hubs")])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert message.startswith("error: recipe 'ptm-tiny' makes a hub of at least") and "PiB" in message
    assert "lower epochs" in message and "Traceback" not in result.output
    assert not (tmp_path / "hubs").exists()  # nothing was started


@pytest.mark.parametrize(("count", "text"), [(0, "0.0 B"), (1536, "1.5 KiB"), (3 * 2**40, "3.0 TiB")])
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text
