"""The hub file: what `write_hub` writes `HubFile` reads back; bad files give one-line errors (missing, truncated,
foreign, wrong schema version, a damaged part)."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from hubfakes import HAND_VAL, write_fake_hub
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.errors import HubError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.info import summarize_hub
from fmsbench.hub.store import CONFIG_COLUMNS, METRICS, HubFile, stored_recipe

runner = CliRunner()


def test_missing_hub(tmp_path: Path) -> None:
    with pytest.raises(HubError, match="does not exist"):
        Benchmark(tmp_path / "none.h5")


def test_truncated_hub_gives_one_line_cli_error(tmp_path: Path, tiny_ptm_hub: Path) -> None:
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(tiny_ptm_hub.read_bytes()[: tiny_ptm_hub.stat().st_size // 2])
    result = runner.invoke(app, ["hub", "info", str(truncated)])
    assert result.exit_code == 2
    assert "rebuild it with `fmsbench build-hub`" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2


def test_foreign_hdf5_file(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as h5:
        h5["x"] = [1, 2, 3]
    with pytest.raises(HubError, match="not an fmsbench hub"):
        summarize_hub(foreign)


def test_newer_schema_version_is_refused(tmp_path: Path, tiny_ptm_hub: Path) -> None:
    copy = tmp_path / "copy.h5"
    copy.write_bytes(tiny_ptm_hub.read_bytes())
    with h5py.File(copy, "a") as h5:
        h5.attrs["schema_version"] = 99
    with pytest.raises(HubError, match="schema version 99"):
        Benchmark(copy, "digits")


def test_hub_file_reads_back_what_write_hub_wrote(tmp_path: Path) -> None:
    val = HAND_VAL
    path = write_fake_hub(tmp_path / "round.h5", val, name="round")
    with HubFile(path) as hub:
        assert hub.recipe_name == "round" and hub.tasks == ["main"] and hub.metrics == list(METRICS)
        assert [m.arch_id for m in hub.models] == ["mlp-s", "mlp-s"] and hub.models[0].n_parameters == 23
        assert list(hub.configs.columns) == [*CONFIG_COLUMNS, "arch"] and len(hub.configs) == 3
        task = hub.task("main")
        assert (task.max_epoch, task.num_classes) == (3, 2)
        curves = hub.curves("main")
        assert curves.shape == (3, 4, len(METRICS))
        assert np.array_equal(curves[:, :, METRICS.index("val_acc")], val)
        weights, layout = hub.checkpoint("main", 1, 2)
        assert weights.dtype == np.float32 and weights.size == sum(spec.numel for spec in layout)
        assert hub.fingerprint("main") == hub.fingerprint("main")
    assert stored_recipe(path) == 'name = "round"' and stored_recipe(tmp_path / "none.h5") is None


def test_a_damaged_part_is_one_line(tmp_path: Path) -> None:
    path = write_fake_hub(tmp_path / "damaged.h5", HAND_VAL)
    with h5py.File(path, "a") as h5:
        del h5["tasks/main/curves"]
    with HubFile(path) as hub, pytest.raises(HubError, match="damaged or truncated .* rebuild it"):
        hub.curves("main")
