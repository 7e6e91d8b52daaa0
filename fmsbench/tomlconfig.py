"""TOML tables -> frozen dataclasses, checked against the dataclass's fields and type hints.

Hub recipes and experiment recipes are both data files; this is the one parser they share. Unknown keys,
missing keys and wrong types are `RecipeError`s that name the file and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from fmsbench.errors import RecipeError


def bundled_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml"))


def resolve_toml(name_or_path: str | Path, folder: Path, noun: str) -> Path:
    """A bundled file of `folder` by name, or a path to a .toml file (or to any existing file); `noun` ("recipe",
    "experiment") names it in the one-line errors."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.is_file():
        if not candidate.is_file():
            raise RecipeError(f"{noun} file {candidate} does not exist")
        return candidate
    bundled = folder / f"{name_or_path}.toml"
    if bundled.is_file():
        return bundled
    raise RecipeError(f"unknown {noun} '{name_or_path}'; bundled {noun}s: {', '.join(bundled_names(folder))} "
                      "(or give a .toml path)")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed table and the raw text of a TOML file (one-line error if it is not valid TOML)."""
    text = path.read_text()
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as error:
        raise RecipeError(f"{path} is not valid TOML: {error}") from None


def build(cls: type, data: Any, where: str, **not_from_toml: Any) -> Any:
    """Build dataclass `cls` from a TOML table, recursing into nested dataclasses and tuples of them.

    Fields marked `metadata={"toml": False}` are not keys of the table; `not_from_toml` gives their values.
    """
    if not isinstance(data, dict):
        raise RecipeError(f"{where}: expected a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.metadata.get("toml", True)]
    known = {f.name for f in fields}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(sorted(known))}")
    missing = [f.name for f in fields
               if f.name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise RecipeError(f"{where}: missing required key(s) {', '.join(missing)}")
    values = {key: _convert(hints[key], value, f"{where}: {key}") for key, value in data.items()}
    return cls(**values, **not_from_toml)


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _convert(options[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise RecipeError(f"{where}: expected a list, got {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: expected a table, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise RecipeError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
