"""Hub exports read back with pandas/numpy (no Syne Tune installed) equal the hub's Benchmark, value for value."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.export import export_hub
from fmsbench.hub.store import open_hub

runner = CliRunner()


@pytest.fixture(params=["two_task_hub", "tiny_simple_cnn_hub"])
def hub(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(request.param)


def _tasks(hub: Path) -> list[str]:
    with open_hub(hub) as h5:
        return sorted(h5["tasks"])


def test_syne_tune_blackbox_matches_the_hub(hub: Path, tmp_path: Path) -> None:
    out = export_hub(hub, "syne-tune", tmp_path / "blackbox").out
    metadata = json.loads((out / "metadata.json").read_text())
    hyperparameters = pd.read_parquet(out / "hyperparameters.parquet")
    objectives = np.load(out / "objectives_evaluations.npy")
    fidelities = np.load(out / "fidelities_values.npy")
    space = json.loads((out / "configspace.json").read_text())
    fidelity_space = json.loads((out / "fidelityspace.json").read_text())
    names = metadata["objectives_names"]
    assert metadata["task_names"] == _tasks(hub)
    assert metadata["resource_attr"] == "epoch"
    assert {metadata["metric_default"], metadata["metric_elapsed_time"]} <= set(names)
    for index, task in enumerate(metadata["task_names"]):
        with Benchmark(hub, task) as bench:
            epochs = bench.max_epoch
            assert objectives.shape == (len(metadata["task_names"]), bench.n_configs, 1, epochs, len(names))
            assert objectives.dtype == np.float32
            np.testing.assert_array_equal(fidelities, np.arange(1, epochs + 1))
            expected = bench.configs[list(bench.search_space)].reset_index(drop=True)
            pd.testing.assert_frame_equal(hyperparameters, expected)
            for config in range(bench.n_configs):
                values = objectives[index, config, 0]
                curves = bench.curve(config, metric=None)[1:]
                for m, metric in enumerate(bench.metrics):
                    np.testing.assert_array_equal(values[:, names.index(f"metric_{metric}")], curves[:, m])
                seconds = bench.curve(config, metric="seconds")[1:]
                val_acc = curves[:, bench.metrics.index("val_acc")]
                np.testing.assert_allclose(values[:, names.index("metric_elapsed_time")], np.cumsum(seconds), rtol=1e-6)
                np.testing.assert_allclose(values[:, names.index("metric_valid_error")], 1 - val_acc)
            assert metadata["fmsbench_model_ids"] == bench.model_ids
    # what Syne Tune's BlackboxTabular asserts when it loads a blackbox
    assert set(space) == set(hyperparameters.columns) and not hyperparameters.duplicated().any()
    for axis, domain in space.items():
        assert domain["domain_cls"] == "Categorical" and domain["sampler_cls"] == "Uniform"
        assert set(hyperparameters[axis]) <= set(domain["domain_kwargs"]["categories"])
    epoch = {"domain_cls": "Integer", "domain_kwargs": {"lower": 1, "upper": int(fidelities.max())},
             "sampler_cls": "Uniform", "sampler_kwargs": {}}
    assert fidelity_space == {"epoch": epoch}


def test_csv_has_every_epoch_of_every_config(hub: Path, tmp_path: Path) -> None:
    (path,) = export_hub(hub, "csv", tmp_path / "csv").files
    table = pd.read_csv(path)
    for task in _tasks(hub):
        with Benchmark(hub, task) as bench:
            rows = table[table["task"] == task]
            assert len(rows) == bench.n_configs * (bench.max_epoch + 1)
            for config, group in rows.groupby("config"):
                np.testing.assert_array_equal(group["epoch"], np.arange(bench.max_epoch + 1))
                expected = bench.configs.loc[config]
                for column in ("model", "batch_size", "lr", "momentum", "weight_decay", "dropout", "seed", "arch"):
                    assert (group[column] == expected[column]).all(), column
                assert (group["model_id"] == bench.model_ids[int(expected["model"])]).all()
                metrics = group[bench.metrics].to_numpy(np.float32)
                np.testing.assert_array_equal(metrics, bench.curve(config, metric=None))


def test_cli_exports_and_refuses_unknown_formats(two_task_hub: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["hub", "export", str(two_task_hub), "--format", "csv", "--out", str(tmp_path)])
    assert result.exit_code == 0 and "2 task(s)" in result.output and (tmp_path / "curves.csv").is_file()
    result = runner.invoke(app, ["hub", "export", str(two_task_hub), "--format", "xml", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown export format 'xml'" in result.output and "Traceback" not in result.output
