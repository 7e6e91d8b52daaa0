"""Method settings: CLI strings are typed, unknown names and overrides of a variant's fixed values are refused."""

from __future__ import annotations

import pytest

from fmsbench.errors import FmsbenchError, UnknownNameError
from fmsbench.methods import METHODS, describe
from fmsbench.methods.base import build_settings
from fmsbench.methods.dyhpo import DyHPOSettings


def test_strings_are_typed() -> None:
    settings = build_settings(DyHPOSettings, {"n_initial": "5", "use_curve": "false", "learning_rate": "0.01",
                                              "patience": "none", "featurizer": "none"})
    assert settings == DyHPOSettings(n_initial=5, use_curve=False, learning_rate=0.01, patience=None)


def test_unknown_fixed_and_bad_values() -> None:
    with pytest.raises(UnknownNameError, match="unknown setting 'steps'; choose one of: n_initial"):
        build_settings(DyHPOSettings, {"steps": "3"})
    with pytest.raises(FmsbenchError, match="fixed to False"):
        METHODS.get("dyhpo-nocnn")(0, use_curve=True)
    with pytest.raises(FmsbenchError, match="expects int"):
        build_settings(DyHPOSettings, {"fit_steps": "many"})
    with pytest.raises(FmsbenchError, match="at least 1"):
        METHODS.get("gp")(0, n_initial=0)


def test_registry_names_and_descriptions() -> None:
    assert METHODS.names()[:4] == ["random", "gp", "dyhpo", "dyhpo-nocnn"]
    assert all(describe(name) for name in METHODS.names())
    assert METHODS.get("dyhpo-nocnn")(0).settings()["use_curve"] is False
