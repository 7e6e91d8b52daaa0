"""Property-based: whatever value a recipe key gets, the parser accepts it exactly when it is in the key's allowed
range, and otherwise refuses it with one line naming the key; a recipe it accepts plans without a traceback."""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fmsbench.build.plan import make_plan
from fmsbench.build.recipe import RECIPES_DIR, parse_recipe
from fmsbench.errors import RecipeError

BASE = tomllib.loads((RECIPES_DIR / "ptm-tiny.toml").read_text())  # has a vit: image sizes are multiples of 4
junk = st.one_of(st.booleans(), st.text(max_size=3))
numbers = st.one_of(st.integers(-3, 40), st.integers(-(2**62), 2**62), st.floats(-2.0, 2.0), st.floats(), junk)
integers = st.one_of(st.integers(-3, 40), st.integers(-(2**62), 2**62), st.floats(-2.0, 2.0), junk)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _each(ok: Callable[[Any], bool]) -> Callable[[list], bool]:
    """A list key: not empty, no repeats, every item allowed."""
    return lambda values: bool(values) and len(set(values)) == len(values) and all(ok(v) for v in values)


def _at_least(low: float, number: Callable[[Any], bool] = _int) -> Callable[[Any], bool]:
    return lambda v: number(v) and v >= low


def _fraction(v: Any) -> bool:
    return _number(v) and 0 <= v < 1


# key path in the recipe table -> (values to try, the allowed ones), as the issue lists the ranges
KEYS: dict[tuple[Any, ...], tuple[st.SearchStrategy, Callable[[Any], bool]]] = {
    ("epochs",): (integers, _at_least(1)),
    ("seed",): (integers, _at_least(0)),
    ("image_size",): (integers, lambda v: _int(v) and v >= 1 and v % 4 == 0),
    ("channels",): (integers, lambda v: _int(v) and v in (1, 3)),
    ("grid", "n_configs"): (integers, _at_least(1)),
    ("grid", "batch_size"): (st.lists(integers, max_size=4), _each(_at_least(1))),
    ("grid", "lr"): (st.lists(numbers, max_size=4), _each(lambda v: _number(v) and v > 0)),
    ("grid", "momentum"): (st.lists(numbers, max_size=4), _each(_fraction)),
    ("grid", "weight_decay"): (st.lists(numbers, max_size=4), _each(_at_least(0, _number))),
    ("grid", "dropout"): (st.lists(numbers, max_size=4), _each(_fraction)),
    ("pretrain", "epochs"): (integers, _at_least(0)),
    ("pretrain", "batch_size"): (integers, _at_least(1)),
    ("pretrain", "lr"): (numbers, lambda v: _number(v) and v > 0),
    ("pretrain", "momentum"): (numbers, _fraction),
    ("pretrain", "weight_decay"): (numbers, _at_least(0, _number)),
    ("pretrain", "dataset", "n_train"): (integers, _at_least(1)),
    ("pretrain", "dataset", "n_val"): (integers, _at_least(1)),
    ("tasks", 1, "dataset", "n_test"): (integers, _at_least(1)),
    ("tasks", 0, "dataset", "seed"): (integers, _at_least(0)),
    ("pretrain", "models", 0, "seeds"): (st.lists(integers, max_size=3), _each(_at_least(0))),
}


def _with(path: tuple[Any, ...], value: Any) -> dict:
    table = copy.deepcopy(BASE)
    inner = table
    for step in path[:-1]:
        inner = inner[step]
    inner[path[-1]] = value
    return table


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(KEYS, key=str)).flatmap(lambda path: st.tuples(st.just(path), KEYS[path][0])))
def test_a_key_is_accepted_exactly_when_its_value_is_allowed(case: tuple[tuple[Any, ...], Any]) -> None:
    path, value = case
    allowed = KEYS[path][1](value)
    try:
        recipe = parse_recipe(_with(path, value), "r.toml")
    except RecipeError as error:
        message = str(error)
        assert not allowed, message
        assert "\n" not in message and str(path[-1]) in message, message
        return
    assert allowed, f"{path} = {value!r} was accepted"
    try:
        make_plan(recipe)  # an accepted recipe plans, or says in one line why not (e.g. fewer grid points)
    except RecipeError as error:
        assert "\n" not in str(error)
