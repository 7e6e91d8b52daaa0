"""DyHPO-family and GP methods on a synthetic hub: initial design, one-epoch EI steps, tau, schedule, failures,
and the weight-featurizer extension point the FMS variants use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import fmsbench.methods.dyhpo as dyhpo_module
import fmsbench.methods.fms as fms_module
from fmsbench.errors import FmsbenchError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.methods.deep_kernel import DeepKernelFeatures, DeepKernelSurrogate, SurrogateRows
from fmsbench.methods.dyhpo import DyHPO, DyHPOSettings
from fmsbench.methods.gp_parts import SurrogateFitError
from fmsbench.registry import Registry
from fmsbench.replay import Observation, replay
from fmsbench.runs.runner import seeded_torch

FAST = {"n_initial": 4, "fit_steps": 30, "refine_steps": 5}


@pytest.mark.parametrize("name, settings", [("dyhpo", FAST), ("dyhpo-nocnn", FAST),
                                            ("gp", {"n_initial": 4, "fit_steps": 30})])
def test_short_run_initial_design_then_one_epoch_steps(synth_hub: Path, name: str, settings: dict) -> None:
    with Benchmark(synth_hub) as bench, seeded_torch(0):
        result = replay(METHODS.get(name)(0, **settings), bench, 14, tau_budgets=(4, 10, 14))
    steps = result.steps
    initial = steps[:4]
    assert len({s.config for s in initial}) == 4 and all(s.epoch == 1 for s in initial)
    assert all(s.cost == 1 for s in steps) and steps[-1].cum_epochs == 14
    assert result.tau[4] is None  # reached before the first fit
    assert all(-1 <= result.tau[b].final <= 1 for b in (10, 14))
    assert all(s.fit_seconds > 0 for s in steps[4:])



@pytest.mark.parametrize("name, settings", [("dyhpo", FAST), ("gp", {"n_initial": 4, "fit_steps": 30})])
def test_a_longer_budget_replays_the_shorter_run_first(synth_hub: Path, name: str, settings: dict) -> None:
    """The `budget` experiment's runs to 400 epochs stand beside `headline`'s to 100: a model-based method's
    choices must not depend on how much budget is left, so the longer run starts with the shorter one."""
    def run(budget: int) -> Any:
        with Benchmark(synth_hub) as bench, seeded_torch(0):
            return replay(METHODS.get(name)(0, **settings), bench, budget, tau_budgets=(10, 14))

    short, long = run(14), run(24)
    assert [(s.config, s.epoch) for s in long.steps[:len(short.steps)]] == [(s.config, s.epoch) for s in short.steps]
    assert long.tau[14].final == short.tau[14].final and long.steps[-1].cum_epochs == 24


class ToyFeaturizer(nn.Module):
    """Mean, std, mean absolute value and max of all of a checkpoint's values, through a linear layer to 32 dims."""

    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Linear(4, 32)
        self.prepared: list[str] = []

    def prepare(self, arch_id: str, state_dict: dict[str, torch.Tensor]) -> torch.Tensor:
        self.prepared.append(arch_id)
        values = torch.cat([t.float().reshape(-1) for t in state_dict.values()])
        return torch.stack([values.mean(), values.std(), values.abs().mean(), values.max()])

    def forward(self, prepared: list[torch.Tensor]) -> torch.Tensor:
        return self.project(torch.stack(prepared))


def test_weight_featurizer_sees_paid_checkpoints_and_trains(tiny_ptm_hub: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[ToyFeaturizer] = []

    def toy(example_modules: dict[str, nn.Module]) -> ToyFeaturizer:
        assert sorted(example_modules) == ["cnn-s", "deepsets-s", "resnet-s", "vit-s"]  # one per architecture
        built.append(ToyFeaturizer())
        return built[-1]

    monkeypatch.setattr(dyhpo_module, "METHODS", Registry("method"))
    featurizers = Registry("featurizer")
    monkeypatch.setattr(dyhpo_module, "FEATURIZERS", featurizers)
    monkeypatch.setattr(fms_module, "FEATURIZERS", featurizers)
    featurizers.subscribe(fms_module.register_fms_variants)
    featurizers.register("toy", summary="a toy embedding")(toy)  # what a new file in fmsbench/weights/ does
    assert dyhpo_module.METHODS.names() == ["fms-toy", "fms-toy-nocnn"]
    method = dyhpo_module.METHODS.get("fms-toy")(0, **FAST)
    with pytest.raises(FmsbenchError, match="fixed"):
        dyhpo_module.METHODS.get("fms-toy")(0, featurizer="other")

    with Benchmark(tiny_ptm_hub, "digits") as bench, seeded_torch(0):
        initial_weights = None
        original_fit = DeepKernelSurrogate.fit

        def spy_fit(self: DeepKernelSurrogate, rows: SurrogateRows, y: torch.Tensor, steps: int) -> None:
            nonlocal initial_weights
            initial_weights = self.features.featurizer.project.weight.detach().clone()
            original_fit(self, rows, y, steps)

        monkeypatch.setattr(DeepKernelSurrogate, "fit", spy_fit)
        result = replay(method, bench, 10, tau_budgets=(10,))
        trained = np.zeros(bench.n_configs, int)
        for step in result.steps:
            trained[step.config] = step.epoch
    assert method.settings()["featurizer"] == "toy" and -1 <= result.tau[10].final <= 1
    keys = set(method._prepared)
    untouched = set(np.flatnonzero(trained == 0).tolist())
    assert {(c, 0) for c in untouched} <= keys  # EI candidates never touched: their pretrained weights only
    assert all(epoch <= trained[config] for config, epoch in keys)  # never a checkpoint beyond what was paid
    assert set(built[0].prepared) <= {"cnn-s", "deepsets-s", "resnet-s", "vit-s"}
    assert not torch.equal(initial_weights, built[-1].project.weight)  # trained jointly with the GP


def test_featurizer_output_shape_is_checked() -> None:
    class Wrong(ToyFeaturizer):
        def forward(self, prepared: list[torch.Tensor]) -> torch.Tensor:
            return super().forward(prepared)[:, :8]

    features = DeepKernelFeatures(3, 5, use_curve=True, featurizer=Wrong())
    rows = SurrogateRows(torch.rand(2, 3), torch.rand(2), torch.rand(2, 5), [torch.rand(4), torch.rand(4)])
    with pytest.raises(ValueError, match=r"must return \[2, 32\]"):
        features(rows)
    assert DeepKernelFeatures(3, 5, use_curve=False)(rows).shape == (2, 128)


def test_fit_schedule_scratch_then_refine(synth_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original_fit = DeepKernelSurrogate.fit
    monkeypatch.setattr(DeepKernelSurrogate, "fit", lambda self, rows, y, steps: (calls.append(steps),
                                                                                   original_fit(self, rows, y, 2)))
    settings = DyHPOSettings(n_initial=3, fit_steps=30, refine_steps=5, scratch_fits=2, patience=1000)
    with Benchmark(synth_hub) as bench, seeded_torch(0):
        replay(DyHPO(0, settings), bench, 8)
    assert calls == [30, 30, 5, 5, 5]


def test_numerical_failure_falls_back_to_a_random_candidate(synth_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []

    def failing_fit(self: DeepKernelSurrogate, rows: SurrogateRows, y: torch.Tensor, steps: int) -> None:
        built.append(steps)
        raise SurrogateFitError("not positive definite")

    monkeypatch.setattr(DeepKernelSurrogate, "fit", failing_fit)
    method = DyHPO(0, DyHPOSettings(n_initial=3, fit_steps=7))
    with Benchmark(synth_hub) as bench, seeded_torch(0):
        result = replay(method, bench, 6, tau_budgets=(6,))
    assert [s.cost for s in result.steps] == [1] * 6  # fallback proposals are still one-epoch steps
    assert built == [7, 7] * 3  # every step: a scratch fit and one retry from scratch
    assert result.tau[6] is None


def test_refit_from_scratch_after_patience_without_improvement(synth_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original_fit = DeepKernelSurrogate.fit
    monkeypatch.setattr(DeepKernelSurrogate, "fit", lambda self, rows, y, steps: (calls.append(steps),
                                                                                   original_fit(self, rows, y, 2)))
    monkeypatch.setattr(Observation, "best_observed", lambda self: 0.5)  # the incumbent never improves
    settings = DyHPOSettings(n_initial=3, fit_steps=30, refine_steps=5, scratch_fits=1, patience=2)
    with Benchmark(synth_hub) as bench, seeded_torch(0):
        replay(DyHPO(0, settings), bench, 8)
    assert calls == [30, 5, 30, 5, 30]


def test_historical_weight_embeddings_recompute_a_few_rows_per_step() -> None:
    class Counting(ToyFeaturizer):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[int] = []

        def forward(self, prepared: list[torch.Tensor]) -> torch.Tensor:
            self.calls.append(len(prepared))
            return super().forward(prepared)

    featurizer = Counting()
    features = DeepKernelFeatures(3, 5, featurizer=featurizer, weight_batch=2)
    prepared = [torch.rand(4) for _ in range(6)]
    rows = SurrogateRows(torch.rand(6, 3), torch.rand(6), torch.rand(6, 5), prepared)
    torch.manual_seed(0)
    first = features.embed_weights(prepared)
    assert featurizer.calls == [6]  # nothing embedded yet: every row afresh
    featurizer.project.weight.data += 1.0  # the metanetwork moves on
    second = features.embed_weights(prepared)
    assert featurizer.calls == [6, 2]
    fresh = featurizer(prepared).detach()
    changed = [i for i in range(6) if not torch.allclose(second[i], first[i])]
    assert len(changed) == 2 and all(torch.allclose(second[i], fresh[i]) for i in changed)
    second.sum().backward()
    assert featurizer.project.weight.grad is not None  # the fresh rows carry gradients to the metanetwork
    features.eval()
    assert torch.allclose(features.embed_weights(prepared), featurizer(prepared))  # evaluation: all afresh
    features.train()
    features(rows).sum().backward()  # the whole feature extractor trains through the mixed embeddings

    every_other = DeepKernelFeatures(3, 5, featurizer=featurizer, weight_batch=2, weight_every=2)
    featurizer.calls.clear()
    for _ in range(4):
        every_other.embed_weights(prepared)
    assert featurizer.calls == [6, 2, 2]  # all unseen at first, then a refresh at every second call only
