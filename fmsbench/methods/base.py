"""The method registry and the settings helper every method family uses.

A method factory is `factory(seed: int, **overrides) -> Method`, registered under its CLI name with metadata:
`summary` (the line `fmsbench methods` shows; default: the factory's docstring's first line),
`one_architecture` (True: the method only runs on hubs of one architecture) and `extra` with `requires` (the
optional extra, e.g. "optuna", and the modules it provides: without them the method is listed but `--method all`
skips it and naming it is a one-line error). Settings are frozen dataclasses so that the trajectory file records
every knob that shaped a run.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fmsbench.errors import FmsbenchError, UnknownNameError
from fmsbench.extras import install_hint, missing
from fmsbench.registry import Registry
from fmsbench.replay.protocol import Method

MethodFactory = Callable[..., Method]
METHODS: Registry[MethodFactory] = Registry("method", entry_points="fmsbench.methods")

S = TypeVar("S")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def describe(name: str) -> str:
    """One line on what a registered method is (its `summary`, else its factory's docstring)."""
    doc = METHODS.meta(name).get("summary") or METHODS.get(name).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def unavailable(name: str) -> str | None:
    """Why method `name` cannot run in this environment (its optional extra is not installed), or None."""
    meta = METHODS.meta(name)
    if missing(tuple(meta.get("requires", ()))):
        return f"needs the {meta['extra']} extra ({install_hint(meta['extra'])})"
    return None


def unsuitable(name: str, architectures: set[str]) -> str | None:
    """Why method `name` cannot run here on a hub of these architecture ids (its extra is missing, or e.g. an NFN
    needs one architecture), or None."""
    if METHODS.meta(name).get("one_architecture", False) and len(architectures) > 1:
        return "needs a hub of one architecture"
    return unavailable(name)


def build_settings(cls: type[S], overrides: Mapping[str, Any], fixed: Mapping[str, Any] | None = None) -> S:
    """Settings dataclass `cls` from a variant's `fixed` values plus user `overrides` (strings from the CLI are
    converted to the field's type). Unknown names and overrides of fixed values are one-line errors."""
    fixed = dict(fixed or {})
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for name in overrides:
        if name not in known:
            raise UnknownNameError(f"unknown setting '{name}'; choose one of: {', '.join(known)}")
        if name in fixed:
            raise FmsbenchError(f"setting '{name}' is fixed to {fixed[name]!r} by this method variant")
    values = {name: _coerce(name, value, hints[name]) for name, value in overrides.items()}
    return cls(**fixed, **values)


def _coerce(name: str, value: Any, hint: Any) -> Any:
    if not isinstance(value, str):
        return value
    options = typing.get_args(hint) or (hint,)
    if value.lower() in ("none", "null") and type(None) in options:
        return None
    try:
        if bool in options:
            if value.lower() not in _TRUE | _FALSE:
                raise ValueError(value)
            return value.lower() in _TRUE
        if int in options:
            return int(value)
        if float in options:
            return float(value)
    except ValueError:
        raise FmsbenchError(f"setting '{name}' expects {getattr(hint, '__name__', hint)}, got '{value}'") from None
    return value
