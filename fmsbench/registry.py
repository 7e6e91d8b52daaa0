"""A name -> factory registry, so adding a method, dataset, architecture or featurizer is one file and one line.

Registries with an entry-point group (`fmsbench.methods`, `fmsbench.datasets`, `fmsbench.architectures`,
`fmsbench.featurizers`) also hold what installed packages declare there. An entry point names a module (importing
it registers what it decorates) or an object (`module:factory`, registered under the entry point's name). They
are loaded on a registry's first lookup or listing, in every process alike (spawned workers included), all groups
at once, because one registry derives entries of another (fms-<featurizer> methods from featurizers).
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib.metadata
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from fmsbench.errors import PluginError, UnknownNameError

T = TypeVar("T")
Listener = Callable[[str, T], None]
BUILT_IN = "built-in"
# (origin, forced): forced origins hold even for registrations made by fmsbench's own code (see `register`);
# None: no plugin is loading, the registering module is the origin
_ORIGIN: ContextVar[tuple[str | None, bool]] = ContextVar("fmsbench_registry_origin", default=(None, False))
_WITH_PLUGINS: list[Registry[Any]] = []  # registries with an entry-point group, in creation order


@contextlib.contextmanager
def registering_from(origin: str, *, forced: bool = False) -> Iterator[None]:
    """Entries that code outside fmsbench registers inside this block record `origin` (e.g. "package my-hpo",
    "file my_method.py"), so `fmsbench methods` can say where each one comes from; `forced`: fmsbench's own
    registrations too."""
    token = _ORIGIN.set((origin, forced))
    try:
        yield
    finally:
        _ORIGIN.reset(token)


def _calling_module(depth: int) -> str:
    """The name of the module whose code called the function `depth` frames up from here."""
    return str(sys._getframe(depth + 1).f_globals.get("__name__", ""))


class Registry(Generic[T]):
    """Maps CLI names to factories; `kind` names the registry in error messages ("method", "dataset", ...).

    Each entry may carry metadata (`register(name, **meta)`, read back with `meta(name)`), e.g. the sizes of an
    architecture or the one-line summary of a method, and records its origin (`origin(name)`): "built-in" for
    what fmsbench's own modules register (also when a plugin's import is what first imports them), what
    `registering_from` names while a plugin loads, else "module <name>" of the registering code (e.g. a script). Listeners (`subscribe`) hear of every entry, past and
    future: that is how one registry derives entries of another, and a derived entry shares the origin of the
    entry it derives from. `entry_points` is the group whose plugins this registry holds (module docstring).
    """

    def __init__(self, kind: str, entry_points: str | None = None) -> None:
        self.kind = kind
        self.entry_points = entry_points
        self._plugins_loaded = entry_points is None
        self._entries: dict[str, T] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._origins: dict[str, str] = {}
        self._listeners: list[Listener[T]] = []
        if entry_points is not None:
            _WITH_PLUGINS.append(self)

    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        """Decorator: `@METHODS.register("fms-gmn", summary=...)` puts the decorated factory under `name`."""

        def add(factory: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice (first by {self._origins[name]})")
            origin, forced = _ORIGIN.get()
            caller = _calling_module(depth=1)
            if not forced and (caller == "fmsbench" or caller.startswith("fmsbench.")):
                origin = BUILT_IN
            origin = origin or f"module {caller}"
            self._entries[name] = factory
            self._meta[name] = dict(meta)
            self._origins[name] = origin
            with registering_from(origin, forced=True):
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
        if name not in self._entries and not self._plugins_loaded:
            load_entry_points()
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

    def origin(self, name: str) -> str:
        """Where `name` was registered from: "built-in", "package <distribution>" or "file <path>"."""
        self.get(name)
        return self._origins[name]

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style wildcard, in registration order (plugins after built-ins)."""
        if not self._plugins_loaded:
            load_entry_points()
        return [n for n in self._entries if fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def _load_entry_point(self, entry_point: importlib.metadata.EntryPoint) -> None:
        dist = entry_point.dist.name if entry_point.dist is not None else entry_point.module
        origin = f"package {dist}"
        with registering_from(origin):
            try:
                loaded = entry_point.load()
                if entry_point.attr:
                    with registering_from(origin, forced=True):
                        self.register(entry_point.name)(loaded)
            except Exception as error:  # a broken plugin: one line that names it, not a traceback
                raise PluginError(f"{origin}: entry point '{entry_point.name} = {entry_point.value}' of group "
                                  f"{self.entry_points} does not load ({type(error).__name__}: {error}); "
                                  f"fix or uninstall {dist}") from error


def load_entry_points() -> None:
    """Load the entry points of every registry with a group that has not loaded them yet (idempotent)."""
    pending = [registry for registry in _WITH_PLUGINS if not registry._plugins_loaded]
    if not pending:
        return
    for registry in pending:
        registry._plugins_loaded = True  # first, so a plugin that looks names up does not recurse
    everything = importlib.metadata.entry_points()
    for registry in pending:
        for entry_point in everything.select(group=registry.entry_points):
            registry._load_entry_point(entry_point)
