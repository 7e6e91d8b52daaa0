"""FMS variants on the real tiny hubs: short replays with tau, determinism, the NFN guard, which checkpoints are
read and that each is prepared once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.errors import HubError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.methods.dyhpo import DyHPO
from fmsbench.replay import Observation, replay
from fmsbench.replay.loop import ReplayResult
from fmsbench.runs.runner import seeded_torch
from fmsbench.weights import FlatFeaturizer, GMNFeaturizer, NFNFeaturizer, UnsupportedArchitectureError

FAST = {"n_initial": 3, "fit_steps": 8, "refine_steps": 3, "scratch_fits": 2}
BUDGET = 9
FEATURIZER_CLASS = {"gmn": GMNFeaturizer, "nfn": NFNFeaturizer, "flat": FlatFeaturizer}


def run(name: str, hub: Path, seed: int = 0, budget: int = BUDGET, **settings: object) -> tuple[ReplayResult, DyHPO]:
    method = METHODS.get(name)(seed, **{**FAST, **settings})
    with Benchmark(hub, "digits") as bench, seeded_torch(seed):
        return replay(method, bench, budget, tau_budgets=(budget,)), method


@pytest.mark.parametrize("name", ["fms-gmn", "fms-gmn-nocnn", "fms-flat", "fms-flat-nocnn", "fms-nfn", "fms-nfn-nocnn"])
def test_every_variant_replays_with_its_featurizer_and_records_tau(
        name: str, tiny_ptm_hub: Path, tiny_simple_cnn_hub: Path) -> None:
    hub = tiny_simple_cnn_hub if "nfn" in name else tiny_ptm_hub
    result, method = run(name, hub, weight_every=1)  # a metanetwork pass at the last Adam step too: its gradients
    kind = method.settings()["featurizer"]
    assert kind == name.split("-")[1] and method.settings()["use_curve"] == ("nocnn" not in name)
    features = method._surrogate.features
    assert isinstance(features.featurizer, FEATURIZER_CLASS[kind])
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in features.featurizer.parameters())  # jointly
    assert (features.curve is None) == ("nocnn" in name)
    assert [s.cum_epochs for s in result.steps] == list(range(1, BUDGET + 1))
    assert -1 <= result.tau[BUDGET].final <= 1


def test_same_seed_same_trajectory(tiny_ptm_hub: Path) -> None:
    (first, _), (again, _) = run("fms-gmn", tiny_ptm_hub), run("fms-gmn", tiny_ptm_hub)
    assert [(s.config, s.epoch) for s in first.steps] == [(s.config, s.epoch) for s in again.steps]
    assert first.tau == again.tau


def test_nfn_on_a_mixed_hub_is_a_clear_error(tiny_ptm_hub: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedArchitectureError, match="one plain CNN.*use fms-gmn or fms-flat instead"):
        run("fms-nfn", tiny_ptm_hub)
    result = CliRunner().invoke(app, ["run", "--method", "fms-nfn", "--hub", str(tiny_ptm_hub), "--task", "digits",
                                      "--budget", "4", "--out", str(tmp_path), "--setting", "n_initial=2"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("error: fms-nfn needs a hub of one plain CNN architecture")


def test_checkpoints_read_are_paid_and_prepared_once(tiny_ptm_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[tuple[int, int, int]] = []  # (config, epoch, epochs paid at the time)
    original_checkpoint = Observation.checkpoint

    def spy_checkpoint(self: Observation, config: int, epoch: int | None = None) -> dict[str, torch.Tensor]:
        reads.append((config, epoch, self.epochs(config)))
        return original_checkpoint(self, config, epoch)

    prepared: list[str] = []
    original_prepare = GMNFeaturizer.prepare

    def spy_prepare(self: GMNFeaturizer, arch_id: str, state_dict: dict[str, torch.Tensor]) -> object:
        prepared.append(arch_id)
        return original_prepare(self, arch_id, state_dict)

    monkeypatch.setattr(Observation, "checkpoint", spy_checkpoint)
    monkeypatch.setattr(GMNFeaturizer, "prepare", spy_prepare)
    result, method = run("fms-gmn", tiny_ptm_hub, budget=10, n_initial=2)  # 10 epochs > 8 configs

    assert all(epoch is not None and epoch <= paid for _, epoch, paid in reads)  # nothing unpaid was asked for
    with Benchmark(tiny_ptm_hub, "digits") as bench:
        trained, max_epoch = np.zeros(bench.n_configs, int), bench.max_epoch
    for step in result.steps:
        trained[step.config] = step.epoch
    assert (trained > 1).any()
    expected = {(c, e) for c in range(trained.size) for e in range(min(trained[c], max_epoch - 1) + 1)}
    assert set(method._prepared) == expected  # untouched configs: epoch 0 only; others: every epoch before b
    assert Counter((c, e) for c, e, _ in reads) == Counter(expected)  # each checkpoint read once ...
    assert len(prepared) == len(expected)  # ... and prepared once, across every fit, refit and prediction
    assert sum(s.fit_seconds > 0 for s in result.steps) == 8  # prepared checkpoints were reused across 8 fits


def test_example_modules_one_per_architecture(tiny_ptm_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Benchmark(tiny_ptm_hub, "digits") as bench:
        obs = Observation(bench, np.zeros(bench.n_configs, np.int64), 10)
        modules = obs.example_modules()
        assert sorted(modules) == sorted({obs.arch_id(c) for c in range(obs.n_configs)})
        assert obs.example_modules()["cnn-s"] is modules["cnn-s"]  # built once per replay

        stale = Observation(bench, np.zeros(bench.n_configs, np.int64), 10)
        checkpoint = Benchmark.checkpoint
        monkeypatch.setattr(Benchmark, "checkpoint", lambda self, c, e: dict(list(checkpoint(self, c, e).items())[1:]))
        with pytest.raises(HubError, match="do not fit today's .* rebuild it"):
            stale.example_modules()


TOY_FEATURIZER = '''
"""A featurizer as a developer adds one: this file in fmsbench/weights/ plus its import line."""
import torch
from torch import nn

from fmsbench.weights.base import FEATURIZERS, WeightFeaturizer


@FEATURIZERS.register("toy", summary="the mean of every weight tensor")
class ToyFeaturizer(WeightFeaturizer):
    def __init__(self, example_modules):
        super().__init__(example_modules)
        self.project = nn.Linear(1, self.out_dim)

    def prepare(self, arch_id, state_dict):
        return torch.stack([t.float().mean() for t in state_dict.values()]).mean()[None]

    def forward(self, prepared):
        return self.project(torch.stack(prepared))
'''


def test_a_new_featurizer_file_gives_its_two_methods(tmp_path: Path) -> None:
    (tmp_path / "toy_featurizer.py").write_text(TOY_FEATURIZER)
    code = ("from fmsbench.methods import METHODS, describe\nimport toy_featurizer\n"
            "print([(n, describe(n)) for n in METHODS.names('fms-toy*')])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert eval(out) == [("fms-toy", "FMS: DyHPO plus the mean of every weight tensor."),
                         ("fms-toy-nocnn", "fms-toy without the learning-curve encoder.")]
