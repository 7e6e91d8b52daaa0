"""Real tiny builds: hub contents, checkpoints that reproduce their curves, resume after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from fmsbench.build.builder import build_hub, merged_environment
from fmsbench.build.recipe import RECIPES_DIR, load_recipe
from fmsbench.build.train import evaluate
from fmsbench.cli import app
from fmsbench.data import load_dataset
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.store import METRICS, HubFile
from fmsbench.models import head_prefix
from fmsbench.provenance import numeric_environment


def test_tiny_ptm_hub_has_every_run(tiny_ptm_hub: Path) -> None:
    recipe = load_recipe("ptm-tiny")
    for task in ("digits", "shapes"):
        with Benchmark(tiny_ptm_hub, task) as bench:
            assert bench.n_configs == recipe.grid.n_configs
            assert bench.max_epoch == recipe.epochs
            curves = np.stack([bench.curve(c, metric=None) for c in range(bench.n_configs)])
            assert curves.shape == (recipe.grid.n_configs, recipe.epochs + 1, len(METRICS))
            assert np.all(curves[:, 1:, METRICS.index("seconds")] > 0)
            assert np.all((curves[..., METRICS.index("val_acc")] >= 0) & (curves[..., METRICS.index("val_acc")] <= 1))
            assert set(bench.configs["arch"]) <= {"cnn", "resnet", "vit", "deepsets"}
            assert bench.best_val >= bench.worst_final_val


def test_epoch_zero_is_the_pretrained_backbone_with_a_new_head(tiny_ptm_hub: Path) -> None:
    import h5py

    from fmsbench.hub.layout import layout_from_json, unflatten

    with Benchmark(tiny_ptm_hub, "digits") as bench:
        config = 0
        model_id = bench.model_ids[int(bench.configs["model"].iat[config])]
        with h5py.File(tiny_ptm_hub) as h5:
            group = h5[f"models/{model_id}"]
            pretrained = unflatten(group["weights"][()], layout_from_json(group.attrs["layout"]))
        epoch0 = bench.checkpoint(config, 0)
        head = head_prefix(bench.module(config, 0)) + "."
        for name, tensor in epoch0.items():
            if not name.startswith(head) and tensor.is_floating_point():
                torch.testing.assert_close(tensor, pretrained[name], atol=2e-3, rtol=1e-3)  # float16 storage
        assert epoch0[head + "weight"].shape[0] == bench.num_classes != pretrained[head + "weight"].shape[0]
        assert not torch.equal(bench.checkpoint(config, 1)[head + "weight"], epoch0[head + "weight"])


def test_float32_checkpoints_reproduce_the_recorded_accuracy(tiny_simple_cnn_hub: Path) -> None:
    recipe = load_recipe("simple-cnn-tiny")
    assert recipe.weights_dtype == "float32"
    data = load_dataset(recipe.tasks[0].dataset.at(recipe.image_size, recipe.channels))
    with Benchmark(tiny_simple_cnn_hub) as bench:
        for config in (0, 5):
            for epoch in (0, bench.max_epoch):
                _, val_acc = evaluate(bench.module(config, epoch), data.val_x, data.val_y)
                assert val_acc == pytest.approx(bench.curve(config, epoch)[-1], abs=1e-6)


def test_rebuilding_an_unchanged_recipe_does_nothing(tiny_ptm_hub: Path) -> None:
    report = build_hub(load_recipe("ptm-tiny"), tiny_ptm_hub.parent, workers=1)
    assert report.jobs_run == 0


def _shards(folder: Path) -> list[Path]:
    return list(folder.glob("*.shards/*.npz"))


def test_a_killed_build_resumes_and_matches_an_uninterrupted_one(tmp_path: Path, tiny_ptm_hub: Path) -> None:
    command = [sys.executable, "-m", "fmsbench", "build-hub", str(RECIPES_DIR / "ptm-tiny.toml"),
               "--out", str(tmp_path), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while len(_shards(tmp_path)) < 8 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = len(_shards(tmp_path))
    assert 8 <= finished < 4 + 16, "the build should have been killed midway"
    assert not (tmp_path / "ptm-tiny.h5").exists()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{finished} reused" in resumed.stdout.replace("\n", " ")
    for task in ("digits", "shapes"):
        with Benchmark(tmp_path / "ptm-tiny.h5", task) as resumed_hub, Benchmark(tiny_ptm_hub, task) as fresh:
            keep = [i for i, m in enumerate(METRICS) if m != "seconds"]
            for config in range(fresh.n_configs):
                np.testing.assert_array_equal(resumed_hub.curve(config, metric=None)[:, keep],
                                              fresh.curve(config, metric=None)[:, keep])
                for name, tensor in fresh.checkpoint(config, fresh.max_epoch).items():
                    assert torch.equal(resumed_hub.checkpoint(config, fresh.max_epoch)[name], tensor)


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux's /proc")
def test_pool_workers_exit_when_the_build_is_killed(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "fmsbench", "build-hub", str(RECIPES_DIR / "ptm-tiny.toml"),
               "--out", str(tmp_path), "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not _shards(tmp_path) and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    workers = [pid for pid in _children(process.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert workers, "the build should run a pool of worker processes"
    process.kill()  # the main process only, as an out-of-memory kill would
    process.wait()
    deadline = time.time() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "orphaned workers must exit"


def test_a_rerun_that_only_packs_says_so_and_removes_stale_temporaries(tmp_path: Path) -> None:
    recipe = RECIPES_DIR / "simple-cnn-tiny.toml"
    build_hub(load_recipe(recipe), tmp_path, workers=1, keep_shards=True)
    hub, shards = tmp_path / "simple-cnn-tiny.h5", tmp_path / "simple-cnn-tiny.shards"
    hub.unlink()  # as if killed while packing, with every shard written
    stale = [tmp_path / ".simple-cnn-tiny.h5.k1ll3d_0.tmp", shards / ".finetune-x.npz.k1ll3d_0.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    result = CliRunner().invoke(app, ["build-hub", str(recipe), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    message = " ".join(result.output.split())
    assert "packed" in message and "no job needed to run" in message and "nothing to do" not in message
    assert hub.exists() and not any(path.exists() for path in stale)
    again = CliRunner().invoke(app, ["build-hub", str(recipe), "--out", str(tmp_path)])
    assert "is already built from this recipe; nothing to do" in " ".join(again.output.split())


def test_the_hub_records_where_it_was_built(tiny_ptm_hub: Path) -> None:
    """Another CPU's kernels round differently, so a hub says which ones built it (README, Reproducibility)."""
    with HubFile(tiny_ptm_hub) as hub:
        environment = hub.environment
    assert environment == numeric_environment() and environment["torch"] == torch.__version__
    assert environment["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and environment["cpu"]


def test_jobs_in_different_environments_are_all_named() -> None:
    here = {"torch": "2.14.1", "cpu_capability": "AVX512"}
    assert merged_environment([here, here]) == here
    assert merged_environment([here, {**here, "cpu_capability": "AVX2"}]) == {"torch": "2.14.1",
                                                                               "cpu_capability": "AVX2 | AVX512"}
    assert merged_environment([{}, {}]) == {}
