"""The hub file: what `write_hub` writes `HubFile` reads back; bad files give one-line errors (missing, truncated,
foreign, wrong schema version, a damaged part)."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from hubfakes import HAND_VAL, make_synthetic_hub, write_fake_hub
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


def _one_line(result, code: int = 2) -> str:  # noqa: ANN001
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("version", ["1", 1.0, 1.5, np.array([1, 1])])
def test_a_schema_version_that_is_not_an_integer_is_one_line(tmp_path: Path, version: object) -> None:
    path = write_fake_hub(tmp_path / "version.h5", HAND_VAL)
    with h5py.File(path, "a") as h5:
        h5.attrs["schema_version"] = version
    assert "schema_version that is not an integer" in _one_line(runner.invoke(app, ["hub", "info", str(path)]))


@pytest.mark.parametrize("name", ["../../../x", "/tmp/x", "a\\b", "", ".."])
def test_a_stored_recipe_name_that_is_not_a_plain_name_is_refused(tmp_path: Path, name: str) -> None:
    path = write_fake_hub(tmp_path / "named.h5", HAND_VAL)
    with h5py.File(path, "a") as h5:
        h5.attrs["recipe_name"] = name
    message = _one_line(runner.invoke(app, ["run", "--method", "random", "--hub", str(path),
                                           "--out", str(tmp_path / "results")]))
    assert f"its recipe name {name!r} cannot be a folder name" in message
    assert [p.name for p in tmp_path.iterdir()] == ["named.h5"]  # nothing written, inside --out or elsewhere


def test_a_stored_task_name_that_is_not_a_plain_name_is_refused(tmp_path: Path) -> None:
    path = write_fake_hub(tmp_path / "named.h5", HAND_VAL)
    with h5py.File(path, "a") as h5:
        h5.move("tasks/main", "tasks/a\\b")
    with pytest.raises(HubError, match=r"its task name 'a\\\\b' cannot be a folder name"):
        HubFile(path)


def _damage(path: Path, how: str) -> str:
    """Damage the weights dataset of one model; return its id."""
    with h5py.File(path, "a") as h5:
        group = h5["tasks/main/weights"]
        model_id = sorted(group)[0]
        weights = group[model_id]
        if how == "deleted":
            del group[model_id]
        elif how == "misshapen":
            data, layout = weights[()], weights.attrs["layout"]
            del group[model_id]
            group.create_dataset(model_id, data=data[:, :2])
            group[model_id].attrs["layout"] = layout
        else:
            chunk = weights.id.get_chunk_info(0)
    if how == "corrupted":  # the gzip stream of the first checkpoint is garbage
        with open(path, "r+b") as handle:
            handle.seek(chunk.byte_offset)
            handle.write(bytes(range(7, 7 + chunk.size)))
    return model_id


@pytest.mark.parametrize("how", ["deleted", "misshapen", "corrupted"])
def test_a_damaged_weights_dataset_is_found_by_verify_and_by_the_first_read(tmp_path: Path, how: str) -> None:
    path = make_synthetic_hub(tmp_path / "damaged.h5", n_configs=6, max_epoch=2, n_models=2)
    intact = runner.invoke(app, ["hub", "info", "--verify", str(path)])
    assert intact.exit_code == 0 and "verified" in intact.output
    model_id = _damage(path, how)
    message = _one_line(runner.invoke(app, ["hub", "info", "--verify", str(path)]))
    assert "damaged or truncated" in message and model_id in message
    with Benchmark(path) as bench, pytest.raises(HubError, match="damaged or truncated"):
        damaged = bench.model_ids.index(model_id)
        other = damaged if how == "corrupted" else 1 - damaged  # an intact model: the first read checks them all
        bench.checkpoint(int(np.flatnonzero(bench.configs["model"].to_numpy() == other)[0]), 0)
