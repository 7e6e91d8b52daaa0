"""Plugins: a real installed distribution's entry points (all four groups, module and object forms) and a local file
register methods, datasets, architectures and featurizers with their origin, also in spawned run workers; broken
plugins are one-line errors. Plugin processes run in subprocesses, so this session's registries stay built-in."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fmsbench import plugins
from fmsbench.errors import PluginError
from fmsbench.plugins import load_plugins, loaded_files
from fmsbench.registry import BUILT_IN, Registry, registering_from

WORKTREE = Path(__file__).resolve().parents[1]

PACKAGE_FILES = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "fmsbench-toy-plugin"
        version = "0.1"

        [tool.setuptools]
        packages = ["toy_plugin"]

        [project.entry-points."fmsbench.methods"]
        toy-methods = "toy_plugin.methods"
        toy-first = "toy_plugin.methods:first_config"

        [project.entry-points."fmsbench.datasets"]
        toy-data = "toy_plugin.parts:toy_loader"

        [project.entry-points."fmsbench.architectures"]
        toy-mlp = "toy_plugin.parts:toy_mlp"

        [project.entry-points."fmsbench.featurizers"]
        toymean = "toy_plugin.parts:MeanFeaturizer"
        """,
    "toy_plugin/__init__.py": "",
    "toy_plugin/methods.py": """
        from fmsbench import METHODS, Method, Proposal


        class Ordered(Method):
            def __init__(self, last: bool) -> None:
                super().__init__()
                self.last = last

            def propose(self, obs):
                candidates = obs.candidates()
                return Proposal(int(candidates[-1 if self.last else 0]), obs.max_epoch)

            def settings(self):
                return {"last": self.last}


        @METHODS.register("toy-last", summary="the highest untrained config id first")
        def last_config(seed, **overrides):
            return Ordered(last=True)


        def first_config(seed, **overrides):
            \"\"\"The lowest untrained config id first.\"\"\"
            return Ordered(last=False)
        """,
    "toy_plugin/parts.py": """
        import torch
        from torch import nn

        from fmsbench.weights.base import WeightFeaturizer


        def toy_loader(spec, root, download):
            raise NotImplementedError


        def toy_mlp(size, *, in_channels, num_classes, image_size, dropout=0.0):
            return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size**2, num_classes))


        class MeanFeaturizer(WeightFeaturizer):
            \"\"\"the mean of every weight tensor\"\"\"

            def __init__(self, example_modules, **options):
                super().__init__(example_modules)
                self.project = nn.Linear(1, self.out_dim)

            def prepare(self, arch_id, state_dict):
                return torch.stack([t.float().mean() for t in state_dict.values()]).mean()[None]

            def forward(self, prepared):
                return self.project(torch.stack(prepared))
        """,
}
LOCAL_FILE = """
    from fmsbench import METHODS
    from fmsbench.methods.random_search import random_search

    METHODS.register("file-random", summary="random search, from a local file")(random_search)
    """


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy distribution built and installed (pip, no build isolation) into a folder of its own."""
    root = tmp_path_factory.mktemp("plugin")
    for name, text in PACKAGE_FILES.items():
        (root / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "src" / name).write_text(textwrap.dedent(text))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(root / "site"), str(root / "src")], check=True, capture_output=True)
    return root / "site"


def fmsbench(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(WORKTREE)]), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "fmsbench", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_installed_package_and_local_file(installed: Path, synth_hub: Path, tmp_path: Path) -> None:
    (tmp_path / "my_method.py").write_text(textwrap.dedent(LOCAL_FILE))
    listing = fmsbench(["methods", "--plugin", "my_method.py"], installed, tmp_path)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split("│")[1].strip(): line for line in listing.stdout.splitlines() if line.count("│") >= 3}
    for name in ("toy-last", "toy-first", "fms-toymean", "fms-toymean-nocnn"):
        assert "package fmsbench-toy-plugin" in rows[name], name
    assert "file my_method.py" in rows["file-random"] and "random search, from a local file" in rows["file-random"]
    assert "built-in" in rows["random"] and "lowest untrained config id" in rows["toy-first"]
    check = ("from fmsbench.data import DATASETS; from fmsbench.models import MODELS; "
             "print(DATASETS.origin('toy-data'), '|', MODELS.origin('toy-mlp'))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(WORKTREE)])}
    other = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True)
    assert other.stdout.split() == ["package", "fmsbench-toy-plugin", "|", "package", "fmsbench-toy-plugin"]
    # two runs in two spawned workers: each finds the package's and the file's methods again
    run = fmsbench(["run", "--method", "toy-first,file-random", "--hub", str(synth_hub), "--budget", "20",
                    "--jobs", "2", "--plugin", "my_method.py", "--out", "results"], installed, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "2 runs written" in run.stdout
    first = (tmp_path / "results" / "synth" / "main" / "toy-first" / "seed0.json").read_text()
    assert '"config": 0,' in first and '"config": 1,' in first
    assert (tmp_path / "results" / "synth" / "main" / "file-random" / "seed0.json").is_file()


def test_broken_entry_point_is_one_line(tmp_path: Path) -> None:
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[fmsbench.methods]\nnothing = no_such_module\n")
    result = fmsbench(["methods"], tmp_path, tmp_path)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in message
    assert "package broken-plugin: entry point 'nothing = no_such_module'" in message
    assert "fix or uninstall broken-plugin" in message


def test_local_file_errors_and_reloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "_FILES", {})  # this session's runs carry no test plugin afterwards
    (tmp_path / "raises.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(PluginError, match=r"raises.py does not load \(RuntimeError: boom\)") as error:
        load_plugins([tmp_path / "raises.py"])
    assert error.value.parameters == ("plugin",)
    (tmp_path / "twice.py").write_text("from fmsbench import METHODS\nMETHODS.register('random')(print)\n")
    with pytest.raises(PluginError, match=r"method 'random' is registered twice \(first by built-in\)"):
        load_plugins([tmp_path / "twice.py"])
    with pytest.raises(PluginError, match="not a Python file"):
        load_plugins([tmp_path / "missing.py"])
    (tmp_path / "counter.py").write_text("import builtins\nbuiltins.loads = getattr(builtins, 'loads', 0) + 1\n")
    import builtins

    assert load_plugins([tmp_path / "counter.py", tmp_path / "counter.py"]) == (str(tmp_path / "counter.py"),) * 2
    assert builtins.loads == 1 and str(tmp_path / "counter.py") in loaded_files()  # type: ignore[attr-defined]
    del builtins.loads  # type: ignore[attr-defined]


def test_registry_records_origins() -> None:
    things: Registry[int] = Registry("thing")
    things.register("a")(1)  # by this module, no plugin loading
    with registering_from("file x.py"):
        things.register("b")(2)
        with registering_from("package y", forced=True):
            things.register("c")(3)
    assert [things.origin(n) for n in things] == [f"module {__name__}", "file x.py", "package y"]
    from fmsbench.methods import METHODS

    assert METHODS.origin("random") == BUILT_IN and METHODS.origin("fms-gmn") == BUILT_IN
