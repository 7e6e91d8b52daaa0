"""`build-hub --estimate`: the plan's jobs and images, measured rates and a projected wall time, without data."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmsbench.build.estimate import estimate_build
from fmsbench.build.plan import make_plan
from fmsbench.build.recipe import load_recipe
from fmsbench.cli import app
from fmsbench.data import split_sizes


def test_the_estimate_counts_the_plan_and_times_every_group() -> None:
    recipe = load_recipe("ptm-tiny")
    plan = make_plan(recipe)
    estimate = estimate_build(recipe, device="cpu", workers=2)
    assert estimate.jobs == len(plan.pretrain_jobs) + len(plan.finetune_jobs) == 4 + 16
    expected = sum(job.model.settings.epochs * split_sizes(job.dataset)[0] for job in plan.pretrain_jobs)
    expected += sum(job.settings.epochs * split_sizes(job.dataset)[0] for job in plan.finetune_jobs)
    assert estimate.train_images == expected
    assert all(g.train_rate > 0 and g.eval_rate > 0 and g.stack == 1 for g in estimate.groups)
    one_worker = estimate_build(recipe, device="cpu", workers=1).wall_seconds
    assert 0 < estimate.wall_seconds < one_worker


def test_a_paper_recipe_is_estimated_without_its_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMSBENCH_DATA_ROOT", str(tmp_path))  # nothing is there
    recipe = tmp_path / "small-paper.toml"  # simple-cnn-paper's datasets and shapes, fewer jobs
    text = load_recipe("simple-cnn-paper").text.replace("n_models = 100", "n_models = 2").replace(
        "n_configs = 2000", "n_configs = 12")
    recipe.write_text(text)
    result = CliRunner().invoke(app, ["build-hub", str(recipe), "--estimate", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "14 jobs" in text and "projected wall time with" in text
    assert f"{2 * 20 * 55_000 + 12 * 50 * 55_000:,} training images" in text  # MNIST: 60,000 - 5,000 validation


def test_an_unavailable_device_is_one_line() -> None:
    result = CliRunner().invoke(app, ["build-hub", "ptm-tiny", "--estimate", "--device", "cuda:7"])
    assert result.exit_code == 1 and "--device must be auto, cpu, cuda or cuda:N" in result.output
