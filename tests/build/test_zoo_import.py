"""Unterthiner et al. (2020) zoo import: Keras layouts convert to the exact torch models, and feed a real hub build.

The tiny zoo is written in the published layout (weights.npy, metrics.csv.gz, layout.csv) from known torch models,
by transposing their tensors to Keras layouts (conv HWIO, dense [in, out]; each layer's bias before its kernel).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from fmsbench.build.builder import build_hub
from fmsbench.build.plan import make_plan
from fmsbench.build.recipe import RECIPES_DIR, load_recipe
from fmsbench.build.zoo_file import load_zoo_model
from fmsbench.build.zoo_import import import_zoo
from fmsbench.cli import app
from fmsbench.errors import RecipeError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.store import METRICS
from fmsbench.models.simple_cnn import SimpleCNN

KERAS_LAYERS = ("sequential/conv2d", "sequential/conv2d_1", "sequential/conv2d_2", "sequential/dense")
runner = CliRunner()


def keras_variables(model: SimpleCNN) -> list[tuple[str, np.ndarray]]:
    """The model's tensors under Keras names and layouts, in the zoo's order."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    variables = []
    for name, layer in zip(KERAS_LAYERS, layers):
        weight = layer.weight.detach().numpy()
        kernel = weight.transpose(2, 3, 1, 0) if weight.ndim == 4 else weight.T
        variables += [(f"{name}/bias:0", layer.bias.detach().numpy()), (f"{name}/kernel:0", kernel)]
    return variables


def write_unterthiner_zoo(folder: Path, checkpoints: list[tuple[SimpleCNN, dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [np.concatenate([t.reshape(-1) for _, t in keras_variables(model)]) for model, _ in checkpoints]
    np.save(folder / "weights.npy", np.stack(rows).astype(np.float32))
    layout, offset = [], 0
    for name, tensor in keras_variables(checkpoints[0][0]):
        layout.append({"varname": name, "start_idx": offset, "end_idx": offset + tensor.size,
                       "shape": str(tensor.shape)})
        offset += tensor.size
    pd.DataFrame(layout).to_csv(folder / "layout.csv", index=False)
    pd.DataFrame([record for _, record in checkpoints]).to_csv(folder / "metrics.csv.gz", index=False)
    return folder


def _record(run: str, step: int, activation: str = "relu") -> dict:
    return {"config.activation": activation, "config.learning_rate": 0.01, "config.dropout": 0.0,
            "modeldir": run, "step": step, "test_accuracy": step / 100, "train_accuracy": step / 90}


def _cnn(seed: int) -> SimpleCNN:
    torch.manual_seed(seed)
    model = SimpleCNN(in_channels=1, num_classes=10)
    with torch.no_grad():  # non-zero biases, so a misplaced bias shows
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return model


@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SimpleCNN]]:
    """3 ReLU runs (an initial and a final checkpoint each) and 1 tanh run; returns the folder and the final models."""
    finals = [_cnn(seed) for seed in range(3)]
    checkpoints = [(_cnn(10), _record("run0", 0)), (_cnn(11), _record("run1", 0)), (finals[0], _record("run0", 86)),
                   (_cnn(12), _record("tanh", 86, "tanh")), (_cnn(13), _record("run2", 0)),
                   (finals[1], _record("run1", 86)), (finals[2], _record("run2", 86))]
    return write_unterthiner_zoo(tmp_path_factory.mktemp("zoo") / "mnist", checkpoints), finals


@pytest.fixture(scope="module")
def imported(tiny_zoo: tuple[Path, list[SimpleCNN]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_zoo(tiny_zoo[0], tmp_path_factory.mktemp("imported") / "zoo.h5").meta.path


def test_import_keeps_final_relu_checkpoints(tiny_zoo: tuple[Path, list[SimpleCNN]], tmp_path: Path) -> None:
    report = import_zoo(tiny_zoo[0], tmp_path / "zoo.h5")
    header = report.meta.header
    assert (header.arch, header.size, header.in_channels, header.num_classes) == ("simple-cnn", "s", 1, 10)
    assert report.meta.model_ids == tuple(f"simple-cnn-s-unterthiner{row:06d}" for row in (2, 5, 6))
    assert report.checkpoints == 7
    assert report.skipped == {"earlier checkpoints": 3, "activation not relu": 1, "non-finite weights": 0}
    assert import_zoo(tiny_zoo[0], tmp_path / "two.h5", limit=2).meta.model_ids == report.meta.model_ids[:2]


def test_converted_models_equal_the_original_torch_models(tiny_zoo: tuple[Path, list[SimpleCNN]],
                                                          imported: Path) -> None:
    x = torch.randn(5, 1, 12, 12)
    for index, original in enumerate(tiny_zoo[1]):
        model = SimpleCNN(in_channels=1, num_classes=10)
        origin = load_zoo_model(model, imported, index)
        for name, tensor in original.state_dict().items():
            assert torch.equal(model.state_dict()[name], tensor), name
        torch.testing.assert_close(model.eval()(x), original.eval()(x), rtol=0, atol=0)
        assert origin["record"]["modeldir"] == f"run{index}" and origin["record"]["step"] == 86
        assert origin["format"] == "unterthiner-2020" and origin["folder"] == str(tiny_zoo[0].resolve())


def test_an_imported_zoo_feeds_a_simple_cnn_hub(tiny_zoo: tuple[Path, list[SimpleCNN]], imported: Path,
                                                tmp_path: Path) -> None:
    recipe_path = tmp_path / "imported.toml"
    recipe_path.write_text((RECIPES_DIR / "simple-cnn-tiny.toml").read_text()
                           .replace('name = "simple-cnn-tiny"', 'name = "simple-cnn-imported"')
                           .replace("n_models = 3", f'n_models = 3\nsource = "{imported}"'))
    hub = build_hub(load_recipe(recipe_path), tmp_path / "hubs", workers=1).path
    finals = tiny_zoo[1]
    with Benchmark(hub) as bench, h5py.File(hub, "r") as h5:
        assert bench.model_ids == [f"simple-cnn-s-unterthiner{row:06d}" for row in (2, 5, 6)]
        for index, model_id in enumerate(bench.model_ids):
            group = h5[f"models/{model_id}"]
            info = json.loads(group.attrs["info"])
            assert "pretrain" not in info and info["origin"]["row"] == (2, 5, 6)[index]
            assert info["origin"]["zoo_file"] == str(imported) and info["origin"]["record"]["step"] == 86
            curves = group["pretrain_curves"][()]
            assert curves.shape == (1, len(METRICS)) and 0 <= curves[0, METRICS.index("val_acc")] <= 1
        assert set(bench.configs["model"]) <= {0, 1, 2}
        for config in range(bench.n_configs):  # epoch 0 = the imported model (10 classes, so its head is kept)
            original = finals[int(bench.configs["model"].iat[config])].state_dict()
            for name, tensor in bench.checkpoint(config, 0).items():
                assert torch.equal(tensor, original[name]), (config, name)


def _break(folder: Path, what: str) -> str:
    """Damage a copy of the zoo; returns text the one-line error must contain."""
    layout = pd.read_csv(folder / "layout.csv")
    if what == "no layout":
        (folder / "layout.csv").unlink()
        return "has no layout.csv"
    if what == "wrong shape":
        layout.loc[1, "shape"] = "(3, 3, 2, 16)"
    elif what == "unknown variable":
        layout.loc[0, "varname"] = "sequential/batch_normalization/gamma:0"
    elif what == "no dense layer":
        layout = layout.iloc[:6]
    elif what == "missing column":
        layout = layout.drop(columns="shape")
    elif what == "extra metrics row":
        metrics = pd.read_csv(folder / "metrics.csv.gz")
        pd.concat([metrics, metrics.iloc[:1]]).to_csv(folder / "metrics.csv.gz", index=False)
        return "metrics.csv.gz has 8 rows but"
    layout.to_csv(folder / "layout.csv", index=False)
    return {"wrong shape": "which its shape (3, 3, 2, 16) does not fit", "unknown variable": "unknown variable",
            "no dense layer": "describes 4800 values per checkpoint", "missing column": "lacks column(s) shape"}[what]


@pytest.mark.parametrize("what", ["no layout", "wrong shape", "unknown variable", "no dense layer", "missing column",
                                  "extra metrics row"])
def test_malformed_zoos_fail_with_one_line_naming_the_file(tiny_zoo: tuple[Path, list[SimpleCNN]], tmp_path: Path,
                                                           what: str) -> None:
    folder = tmp_path / "zoo"
    folder.mkdir()
    for file in tiny_zoo[0].iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    expected = _break(folder, what)
    result = runner.invoke(app, ["zoo", "import", str(folder), "--out", str(tmp_path / "zoo.h5")])
    assert result.exit_code == 2, result.output
    assert expected in result.output and str(folder) in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "zoo.h5").exists()


def test_a_zoo_of_another_width_is_refused(tmp_path: Path) -> None:
    folder = write_unterthiner_zoo(tmp_path / "wide", [(SimpleCNN(1, 10, channels=8), _record("run0", 1))])
    result = runner.invoke(app, ["zoo", "import", str(folder), "--out", str(tmp_path / "zoo.h5")])
    assert result.exit_code == 2 and "conv layers have 8 channels" in result.output


def test_cli_import_reports_the_pool(tiny_zoo: tuple[Path, list[SimpleCNN]], tmp_path: Path) -> None:
    result = runner.invoke(app, ["zoo", "import", str(tiny_zoo[0]), "--out", str(tmp_path / "zoo.h5")])
    assert result.exit_code == 0, result.output
    assert "3 simple-cnn" in result.output and "source" in result.output


@pytest.mark.parametrize(("old", "new", "message"), [("n_models = 3", "n_models = 4", "holds only 3 models"),
                                                    ("channels = 1", "channels = 3", "holds 1-channel models")])
def test_recipe_must_fit_the_imported_zoo(imported: Path, tmp_path: Path, old: str, new: str, message: str) -> None:
    text = (RECIPES_DIR / "simple-cnn-tiny.toml").read_text().replace(old, new)
    path = tmp_path / "bad.toml"
    path.write_text(text.replace("[zoo]\n", f'[zoo]\nsource = "{imported}"\n'))
    with pytest.raises(RecipeError, match=message):
        make_plan(load_recipe(path))
