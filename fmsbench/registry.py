"""A name -> factory registry, so adding a method, dataset, architecture or featurizer is one file and one line."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from fmsbench.errors import UnknownNameError

T = TypeVar("T")
Listener = Callable[[str, T], None]


class Registry(Generic[T]):
    """Maps CLI names to factories; `kind` names the registry in error messages ("method", "dataset", ...).

    Each entry may carry metadata (`register(name, **meta)`, read back with `meta(name)`), e.g. the sizes of an
    architecture or the one-line summary of a method. Listeners (`subscribe`) hear of every entry, past and
    future: that is how one registry derives entries of another (fms-<featurizer> methods from featurizers).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._listeners: list[Listener[T]] = []

    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        """Decorator: `@METHODS.register("fms-gmn", summary=...)` puts the decorated factory under `name`."""

        def add(factory: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = factory
            self._meta[name] = dict(meta)
            for listener in self._listeners:
                listener(name, factory)
            return factory

        return add

    def subscribe(self, listener: Listener[T]) -> None:
        """Call `listener(name, factory)` for every entry registered so far and every later one."""
        self._listeners.append(listener)
        for name, factory in list(self._entries.items()):
            listener(name, factory)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown {self.kind} '{name}'; choose one of: {', '.join(self.names())}"
            ) from None

    def meta(self, name: str) -> dict[str, Any]:
        """The metadata `name` was registered with (a copy)."""
        self.get(name)
        return dict(self._meta[name])

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style wildcard, in registration order."""
        return [n for n in self._entries if fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
