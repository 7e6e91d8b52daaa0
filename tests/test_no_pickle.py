"""Grep-proof: no file a user hands fmsbench is unpickled, except CIFAR-10 batches through their restricted
unpickler. Every call that could unpickle is found in the source with `ast`, so a new one fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import fmsbench

PACKAGE = Path(fmsbench.__file__).parent
PICKLERS = {"pickle", "cloudpickle", "dill", "joblib", "marshal", "shelve", "_pickle"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _keyword(call: ast.Call, name: str) -> object:
    value = next((k.value for k in call.keywords if k.arg == name), None)
    return value.value if isinstance(value, ast.Constant) else None


def unpickling_calls(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            where = path.name
            if isinstance(node, ast.ClassDef) and any(_name(b).endswith("Unpickler") for b in node.bases):
                found.append(f"{where} class {node.name}")
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            module, _, function = name.rpartition(".")
            if module in PICKLERS and function in {"load", "loads", "open", "Unpickler"} or "read_pickle" in name:
                found.append(f"{where} {name}")
            elif name == "torch.load" and _keyword(node, "weights_only") is not True:
                found.append(f"{where} torch.load without weights_only=True")
            elif name in {"np.load", "numpy.load"} and _keyword(node, "allow_pickle") is not False:
                found.append(f"{where} np.load without allow_pickle=False")
    return found


def test_the_only_unpickler_is_the_cifar_one() -> None:
    assert unpickling_calls(sorted(PACKAGE.rglob("*.py"))) == ["cifar.py class BatchUnpickler"]


def test_the_search_finds_every_kind_of_unpickling(tmp_path: Path) -> None:
    source = tmp_path / "bad.py"
    source.write_text("import pickle, torch, numpy as np, pandas as pd\n"
                      "pickle.load(f)\npickle.loads(b)\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
                      "np.load(p)\npd.read_pickle(p)\ntorch.load(p, weights_only=True)\n"
                      "np.load(p, allow_pickle=False)\nclass Mine(pickle.Unpickler): pass\n")
    assert len(unpickling_calls([source])) == 7
