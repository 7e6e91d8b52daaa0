"""Stacked fine-tuning equals one model at a time: curves, accuracies and weights, on real tiny builds."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from fmsbench.build.builder import build_hub
from fmsbench.build.plan import make_plan, stack_jobs
from fmsbench.build.recipe import load_recipe
from fmsbench.build.stacked import StackedSGD, train_stack
from fmsbench.build.train import TrainSettings, train
from fmsbench.data import DatasetSpec, load_dataset
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.store import METRICS, HubFile
from fmsbench.models import MODELS, build_model

LOSSES = [METRICS.index(m) for m in ("train_loss", "val_loss", "test_loss")]
ACCURACIES = {"train_acc": "n_train", "val_acc": "n_val", "test_acc": "n_test"}


@pytest.mark.parametrize(("recipe", "one_at_a_time"), [("ptm-tiny", "tiny_ptm_hub"),
                                                       ("simple-cnn-tiny", "tiny_simple_cnn_hub")])
def test_a_stacked_build_equals_the_one_at_a_time_build(recipe: str, one_at_a_time: str, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    """Every config, with and without dropout: losses within 1e-3, accuracies up to one sample, weights up to the
    float16 rounding of the hub."""
    plan = make_plan(load_recipe(recipe))
    stacks = stack_jobs(plan.finetune_jobs, 8)
    assert max(len(s.jobs) for s in stacks) > 1, "the tiny recipe must give real stacks"
    assert {job.settings.dropout for job in plan.finetune_jobs} == {0.0, 0.2}, "dropout configs are compared too"
    stacked = build_hub(load_recipe(recipe), tmp_path, workers=1, device="cpu", stack=8).path
    reference = request.getfixturevalue(one_at_a_time)
    with HubFile(reference) as hub:
        tasks = {name: hub.task(name) for name in hub.tasks}
    for task, info in tasks.items():
        with Benchmark(stacked, task) as got, Benchmark(reference, task) as want:
            for config in range(want.n_configs):
                a, b = got.curve(config, metric=None), want.curve(config, metric=None)
                np.testing.assert_allclose(a[:, LOSSES], b[:, LOSSES], atol=1e-3, rtol=1e-3)
                for metric, size in ACCURACIES.items():
                    index = METRICS.index(metric)
                    assert np.abs(a[:, index] - b[:, index]).max() <= 1 / getattr(info, size) + 1e-6
                for epoch in (1, want.max_epoch):
                    for name, tensor in want.checkpoint(config, epoch).items():
                        np.testing.assert_allclose(got.checkpoint(config, epoch)[name], tensor, rtol=2e-3,
                                                   atol=2e-3 * float(tensor.abs().max()) + 1e-6)


def test_shards_do_not_depend_on_the_stack(tmp_path: Path) -> None:
    """A build interrupted under one stack size resumes under another and reuses every finished config."""
    recipe = load_recipe("ptm-tiny")
    first = build_hub(recipe, tmp_path, workers=1, device="cpu", stack=4, keep_shards=True)
    shards = sorted((tmp_path / "ptm-tiny.shards").glob("finetune-*.npz"))
    for shard in shards[::3]:  # as if the build had been killed before these configs ended
        shard.unlink()
    first.path.unlink()
    resumed = build_hub(recipe, tmp_path, workers=1, device="cpu", stack=1)
    assert resumed.jobs_run == len(shards[::3]) and resumed.jobs_skipped == first.jobs_run - len(shards[::3])


@pytest.mark.parametrize("arch", MODELS.names())
def test_every_architecture_trains_stacked(arch: str) -> None:
    """BatchNorm (cnn, resnet), attention (vit), set pooling (deepsets): a stack of 3 equals 3 plain runs."""
    data = load_dataset(DatasetSpec("shapes", 8, 3, n_train=48, n_val=16, n_test=16))
    settings = [TrainSettings(2, 16, "sgd", lr, 0.9, 1e-4, dropout, seed)
                for lr, dropout, seed in ((1e-2, 0.0, 1), (1e-3, 0.3, 2), (3e-2, 0.0, 3))]
    models = []
    for s in settings:
        torch.manual_seed(s.seed)
        models.append(build_model(arch, "s", in_channels=3, num_classes=10, image_size=8, dropout=s.dropout))
    alone = [train(copy.deepcopy(m), data, s, record_weights=True) for m, s in zip(models, settings)]
    together = train_stack(models, data, settings, record_weights=True)
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(a.curves[:, LOSSES], b.curves[:, LOSSES], atol=1e-4)
        np.testing.assert_allclose(a.weights, b.weights, atol=1e-4)


def test_the_fused_update_is_torch_sgd() -> None:
    torch.manual_seed(0)
    weights = torch.randn(2, 5)
    flat = weights.clone().requires_grad_(True)
    settings = [TrainSettings(1, 1, "sgd", 0.1, 0.9, 1e-2, 0.0, 0), TrainSettings(1, 1, "sgd", 0.01, 0.5, 0.0, 0.0, 0)]
    rows = [torch.nn.Parameter(weights[i].clone()) for i in range(2)]
    optimizers = [torch.optim.SGD([rows[i]], lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
                  for i, s in enumerate(settings)]
    fused = StackedSGD(flat, settings)
    for step in range(3):
        grad = torch.randn(2, 5)
        flat.grad = grad.clone()
        fused.step()
        for i in range(2):
            rows[i].grad = grad[i].clone()
            optimizers[i].step()
    torch.testing.assert_close(flat.detach(), torch.stack([r.detach() for r in rows]))


def test_a_stack_must_share_optimiser_batch_and_epochs() -> None:
    models = [build_model("cnn", "s", in_channels=3, num_classes=10, image_size=8) for _ in range(2)]
    data = load_dataset(DatasetSpec("shapes", 8, 3, n_train=32, n_val=16, n_test=16))
    with pytest.raises(ValueError, match="batch size"):
        train_stack(models, data, [TrainSettings(1, 16, "sgd", 0.1, 0.9, 0.0, 0.0, 0),
                                   TrainSettings(1, 32, "sgd", 0.1, 0.9, 0.0, 0.0, 1)], record_weights=False)
    with pytest.raises(ValueError, match="SGD"):
        train_stack(models, data, [TrainSettings(1, 16, "adam", 0.1, 0.9, 0.0, 0.0, 0)] * 2, record_weights=False)
