"""The ray executor: Ray builds equal local builds, failed jobs are retried, replay runs match, no ray -> one line.

One local Ray instance (2 CPUs) serves the whole module; tests that need it skip when ray is not installed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.errors import FmsbenchError
from fmsbench.executors import EXECUTORS
from fmsbench.hub.store import METRICS
from fmsbench.replay.trajectory import TIMING_FIELDS
from fmsbench.runs.runner import plan_runs, run_all

runner = CliRunner()
SKIP_REASON = "ray is not installed; pip install 'fmsbench[ray]' to run the Ray executor tests"
CURVES = {"curves", "pretrain_curves"}  # datasets whose last axis holds METRICS, `seconds` (wall time) last


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason=SKIP_REASON)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # this module's job functions reach workers
    yield
    ray.shutdown()


def _contents(path: Path) -> dict[str, object]:
    """Every attribute and dataset value of a hub, less its creation time and the measured epoch seconds."""
    seconds = METRICS.index("seconds")
    with h5py.File(path) as h5:
        found: dict[str, object] = {f"/@{k}": v for k, v in h5.attrs.items() if k != "created"}

        def visit(name: str, node: h5py.HLObject) -> None:
            found.update({f"{name}@{k}": v for k, v in node.attrs.items()})
            if isinstance(node, h5py.Dataset):
                value = node[()]
                timed = name.rsplit("/")[-1] in CURVES
                found[name] = (node.dtype.str, np.delete(value, seconds, -1) if timed else value)
        h5.visititems(visit)
    return found


@pytest.mark.slow  # a Ray instance and two builds: 20 s
@pytest.mark.parametrize(("recipe", "local_build"), [("ptm-tiny", "tiny_ptm_hub"),
                                                     ("simple-cnn-tiny", "tiny_simple_cnn_hub")])
def test_ray_build_equals_the_local_build(ray_instance: None, recipe: str, local_build: str, tmp_path: Path,
                                          request: pytest.FixtureRequest) -> None:
    local = request.getfixturevalue(local_build)  # built in this process by the session fixture (workers=1)
    result = runner.invoke(app, ["build-hub", recipe, "--out", str(tmp_path), "--executor", "ray"])
    assert result.exit_code == 0, result.output
    built, reference = _contents(tmp_path / f"{recipe}.h5"), _contents(local)
    assert built.keys() == reference.keys()
    for key, (dtype, value) in ((k, v) for k, v in reference.items() if isinstance(v, tuple)):
        assert built[key][0] == dtype, key
        np.testing.assert_array_equal(built[key][1], value, err_msg=key)
    for key, value in reference.items():
        if not isinstance(value, tuple):
            assert built[key] == value, key


def _fail_once(marker: Path) -> str:
    if not marker.exists():
        marker.touch()
        raise FmsbenchError(f"transient failure of {marker.name}")
    return marker.name


def test_a_failed_job_is_retried(ray_instance: None, tmp_path: Path) -> None:
    retrying = EXECUTORS.get("ray")(max_retries=1)
    assert sorted(retrying.run(_fail_once, [tmp_path / "a", tmp_path / "b"])) == ["a", "b"]
    with pytest.raises(FmsbenchError) as error:  # no retries left: the job's own error, still one line
        list(EXECUTORS.get("ray")(max_retries=0).run(_fail_once, [tmp_path / "c"]))
    assert str(error.value) == "transient failure of c"


def _sleep_then_mark(marker: Path) -> None:
    time.sleep(0 if marker.name == "fast" else 2)
    marker.touch()


def test_abandoning_a_run_cancels_its_pending_jobs(ray_instance: None, tmp_path: Path) -> None:
    slow = [tmp_path / f"slow{i}" for i in range(6)]
    results = EXECUTORS.get("ray")().run(_sleep_then_mark, [tmp_path / "fast", *slow])
    next(results)
    results.close()  # what Ctrl-C does to the loop consuming the results
    time.sleep(5)  # without cancelling, two more waves of 2-second jobs would have finished on the 2 CPUs
    finished = [p for p in slow if p.exists()]
    assert len(finished) <= 2, f"only jobs already running may finish (best effort), not {len(finished)}"


def _comparable(path: Path) -> dict:
    data = json.loads(path.read_text())
    for section, keys in TIMING_FIELDS.items():
        for record in data[section] if section == "steps" else [data[section]]:
            for key in keys:
                record.pop(key)
    return data


def test_replay_runs_on_ray_match_local_runs(ray_instance: None, tiny_ptm_hub: Path, tmp_path: Path) -> None:
    settings = {"n_initial": "3", "fit_steps": "20", "refine_steps": "3"}
    local = run_all(plan_runs("random,dyhpo", tiny_ptm_hub, "all", [0], 8, tmp_path / "local", (8,), settings).specs)
    progress: list[tuple[str, int]] = []
    remote = run_all(plan_runs("random,dyhpo", tiny_ptm_hub, "all", [0], 8, tmp_path / "ray", (8,), settings).specs,
                     jobs=2, on_progress=lambda label, done: progress.append((label, done)), executor="ray")
    assert len(local.written) == len(remote.written) == 4
    assert {label for label, _ in progress} == {spec.label for spec in remote.written}  # per-epoch progress arrives
    for spec in local.written:
        assert _comparable(spec.path) == _comparable(tmp_path / "ray" / spec.path.relative_to(tmp_path / "local"))


def test_gpus_per_job_defaults_to_an_even_share() -> None:
    pytest.importorskip("ray", reason=SKIP_REASON)
    from fmsbench.executors.ray import _default_gpus

    assert _default_gpus({"CPU": 16.0}) == 0.0
    assert _default_gpus({"CPU": 16.0, "GPU": 1.0}) == 0.0625
    assert _default_gpus({"CPU": 3.0, "GPU": 1.0}) == 0.3333
    assert _default_gpus({"CPU": 4.0, "GPU": 8.0}) == 1.0


def test_without_ray_the_error_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    monkeypatch.delitem(sys.modules, "fmsbench.executors.ray", raising=False)
    result = runner.invoke(app, ["build-hub", "simple-cnn-tiny", "--out", str(tmp_path), "--executor", "ray"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: ray is not installed; pip install 'fmsbench[ray]'"


def test_ray_options_without_ray_executor_are_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build-hub", "simple-cnn-tiny", "--out", str(tmp_path), "--address", "auto"])
    assert result.exit_code == 1 and "need --executor ray" in result.output
