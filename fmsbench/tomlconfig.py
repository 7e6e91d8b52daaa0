"""TOML tables -> frozen dataclasses, checked against the dataclass's fields, type hints and allowed values.

Hub recipes and experiment recipes are both data files; this is the one parser they share (trajectory and baseline
JSON files are checked by the same rules, with their own error class). Unknown keys,
missing keys, wrong types and values outside a field's `Check` (declared next to the field with `checked`) are
`RecipeError`s that name the file, the key and what is allowed, before any work starts.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmsbench.errors import FmsbenchError, RecipeError


@dataclass(frozen=True)
class Check:
    """The values a key allows: a number range (bounds inclusive unless `*_open`), a set of `choices`; for a list
    key, `nonempty` and `unique` apply to the list and the rest to each item."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    nonempty: bool = False
    unique: bool = False

    def allowed(self) -> str:
        """The allowed values in words: '>= 1', '> 0', 'in [0, 1)', 'one of 1, 3'."""
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}"

    def holds(self, value: Any) -> bool:
        if self.choices is not None:
            return value in self.choices
        if not isinstance(value, (int, float)) or not math.isfinite(value):  # NaN and infinity are in no range
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below


def checked(default: Any = dataclasses.MISSING, **check: Any) -> Any:
    """A dataclass field whose TOML value must pass `Check(**check)` (defaults are trusted)."""
    return dataclasses.field(default=default, metadata={"check": Check(**check)})


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
    try:
        text = path.read_bytes().decode("utf-8")
        return tomllib.loads(text), text
    except UnicodeDecodeError as error:
        raise RecipeError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise RecipeError(f"{path} is not valid TOML: {error}") from None


def build(cls: type, data: Any, where: str, *, error: type[FmsbenchError] = RecipeError, **not_from_toml: Any) -> Any:
    """Build dataclass `cls` from a table (TOML, or JSON read by the same rules), recursing into nested dataclasses
    and lists of them; any problem is an `error` naming `where` and the key.

    Fields marked `metadata={"toml": False}` are not keys of the table; `not_from_toml` gives their values.
    """
    if not isinstance(data, dict):
        raise error(f"{where}: expected a table, got {data!r}")
    hints = _hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.metadata.get("toml", True)]
    known = {f.name for f in fields}
    unknown = sorted(map(str, set(data) - known))
    if unknown:
        raise error(f"{where}: unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(sorted(known))}")
    missing = [f.name for f in fields
               if f.name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise error(f"{where}: missing required key(s) {', '.join(missing)}")
    values = {key: _convert(hints[key], value, f"{where}: {key}", error) for key, value in data.items()}
    for f in fields:
        if f.name in values and "check" in f.metadata:
            _check(f.metadata["check"], values[f.name], f"{where}: {f.name}", error)
    return cls(**values, **not_from_toml)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check(check: Check, value: Any, where: str, error: type[FmsbenchError]) -> None:
    if isinstance(value, tuple):
        if check.nonempty and not value:
            raise error(f"{where} must not be empty")
        repeated = sorted({repr(v) for v in value if value.count(v) > 1})
        if check.unique and repeated:
            raise error(f"{where} must not repeat values; repeated: {', '.join(repeated)}")
        for index, item in enumerate(value):
            if (check.low, check.high, check.choices) != (None, None, None) and not check.holds(item):
                raise error(f"{where}[{index}] must be {check.allowed()}, got {item!r}")
    elif value is not None and not check.holds(value):
        raise error(f"{where} must be {check.allowed()}, got {value!r}")


def _convert(hint: Any, value: Any, where: str, error: type[FmsbenchError]) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _convert(options[0], value, where, error)
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise error(f"{where}: expected a list, got {value!r}")
        item = typing.get_args(hint)[0]
        return origin(_convert(item, v, f"{where}[{i}]", error) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise error(f"{where}: expected a table, got {value!r}")
        key_hint, value_hint = typing.get_args(hint) or (Any, Any)
        return {_convert(key_hint, k, f"{where} key", error): _convert(value_hint, v, f"{where}: {k}", error)
                for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where, error=error)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise error(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
