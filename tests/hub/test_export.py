"""Hub exports read back with pandas/numpy equal the hub's Benchmark, value for value; Syne Tune's current release
simulates the blackbox export with RandomSearch and ASHA; the checkpoints side file round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.errors import HubError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.checkpoints import read_checkpoint
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
    configs = pd.read_csv(out / "configs.csv")
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
            ids = list(range(bench.n_configs))
            assert hyperparameters.to_dict("list") == {"config": ids, "hub": [bench.hub_name] * len(ids)}
            assert space == {"config": {"domain_cls": "Categorical", "domain_kwargs": {"categories": ids},
                                        "sampler_cls": "Uniform", "sampler_kwargs": {}}, "hub": bench.hub_name}
            expected = bench.configs.reset_index()
            assert configs["config"].tolist() == ids
            for column in (*bench.search_space, "arch"):
                assert configs[column].tolist() == expected[column].tolist(), column
            assert configs["model_id"].tolist() == [bench.model_ids[m] for m in expected["model"]]
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
    epoch = {"domain_cls": "Integer", "domain_kwargs": {"lower": 1, "upper": int(fidelities.max())},
             "sampler_cls": "Uniform", "sampler_kwargs": {}}
    assert fidelity_space == {"epoch": epoch}


@pytest.mark.parametrize("scheduler", ["RandomSearch", "ASHA"])
def test_syne_tune_simulates_the_export(scheduler: str, two_task_hub: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Syne Tune's own simulator on the export, as the README shows it: every trial finds its config."""
    pytest.importorskip("syne_tune")
    pytest.importorskip("fastparquet")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.blackbox_repository.blackbox_tabular import deserialize
    from syne_tune.optimizer.baselines import ASHA, RandomSearch

    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path / "syne-tune"))
    export_hub(two_task_hub, "syne-tune", tmp_path / "export")
    blackbox = deserialize(str(tmp_path / "export"))["beta"]
    space, max_epoch = blackbox.configuration_space, int(max(blackbox.fidelity_values))
    if scheduler == "RandomSearch":
        chosen = RandomSearch(space, metrics=["metric_valid_error"], random_seed=0)
    else:
        chosen = ASHA(space, metric="metric_valid_error", time_attr="epoch", max_t=max_epoch, random_seed=0)
    tuner = Tuner(trial_backend=UserBlackboxBackend(blackbox, elapsed_time_attr="metric_elapsed_time"),
                  scheduler=chosen, stop_criterion=StoppingCriterion(max_num_trials_started=10), n_workers=1,
                  sleep_time=0, callbacks=[SimulatorCallback()], save_tuner=False, tuner_name=scheduler.lower())
    tuner.run()
    results = pd.read_csv(Path(tuner.tuner_path) / "results.csv.zip")
    assert results["trial_id"].nunique() >= 10
    with Benchmark(two_task_hub, "beta") as bench:
        for row in results.itertuples():
            assert row.metric_val_acc == pytest.approx(bench.curve(int(row.config_config), row.epoch)[-1])
    epochs = results.groupby("trial_id")["epoch"].max()
    assert (epochs == max_epoch).all() if scheduler == "RandomSearch" else (epochs < max_epoch).any()


def test_checkpoints_side_file_round_trips(tmp_path: Path, tiny_ptm_hub: Path) -> None:
    report = export_hub(tiny_ptm_hub, "csv", tmp_path / "csv", checkpoints=True)
    path = tmp_path / "csv" / "checkpoints.h5"
    assert report.files[-1] == path
    for task in _tasks(tiny_ptm_hub):
        with Benchmark(tiny_ptm_hub, task) as bench:
            for config in (0, bench.n_configs - 1):
                for epoch in (0, bench.max_epoch):
                    stored = read_checkpoint(path, task, config, epoch)
                    expected = bench.checkpoint(config, epoch)
                    assert stored.keys() == expected.keys()
                    assert all(torch.equal(stored[k], expected[k]) for k in expected)
            bench.module(0, 0).load_state_dict(read_checkpoint(path, task, 0, 1))
    with pytest.raises(HubError, match="epoch 99"):
        read_checkpoint(path, "digits", 0, 99)


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
    result = runner.invoke(app, ["hub", "export", str(two_task_hub), "--format", "csv", "--out", str(tmp_path),
                                 "--checkpoints"])
    assert result.exit_code == 0 and "2 task(s)" in result.output and (tmp_path / "curves.csv").is_file()
    assert "checkpoints.h5" in result.output and (tmp_path / "checkpoints.h5").is_file()
    result = runner.invoke(app, ["hub", "export", str(two_task_hub), "--format", "xml", "--out", str(tmp_path)])
    words = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "'xml' is not one of 'syne-tune', 'csv'" in words
    assert "Traceback" not in result.output
