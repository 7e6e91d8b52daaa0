"""Local plugin files (`fmsbench run --plugin my_method.py`): a Python file whose import registers methods,
datasets, architectures or featurizers, exactly like a module of the package or an installed plugin's entry point.

Installed packages need nothing from here: their entry points load on a registry's first use, in any process
(`fmsbench.registry`). A file does not announce itself, so whoever runs work elsewhere passes the files on:
`loaded_files()` lists those loaded in this process (`RunSpec` records them when it is made) and
`load_plugins(files)` loads them again in a spawned worker, a Ray task or a method's isolated process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from fmsbench.errors import PluginError
from fmsbench.registry import load_entry_points, registering_from

_FILES: dict[str, str] = {}  # resolved path -> module name, in load order


def load_plugins(files: Iterable[str | Path] = ()) -> tuple[str, ...]:
    """Load installed plugins (entry points) and the plugin `files`; return the files' resolved paths.

    Idempotent: a file already loaded in this process is not imported again.
    """
    load_entry_points()
    return tuple(_load_file(Path(file)) for file in files)


def loaded_files() -> tuple[str, ...]:
    """The resolved paths of the plugin files loaded in this process, in load order."""
    return tuple(_FILES)


def _load_file(path: Path) -> str:
    resolved = path.resolve()
    key = str(resolved)
    if key in _FILES:
        return key
    if not resolved.is_file() or resolved.suffix != ".py":
        raise PluginError(f"plugin {path} is not a Python file (.py)", parameters=("plugin",))
    # a module name per path, the same in every process, so objects defined in the file pickle between processes
    name = f"fmsbench_plugin_{re.sub(r'[^0-9A-Za-z_]', '_', resolved.stem)}_{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    assert spec is not None and spec.loader is not None  # a .py file always has a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with registering_from(f"file {_shown(resolved)}"):
        try:
            spec.loader.exec_module(module)
        except Exception as error:  # the plugin's own bug: one line naming the file
            del sys.modules[name]
            raise PluginError(f"plugin {path} does not load ({type(error).__name__}: {error})",
                              parameters=("plugin",)) from error
    _FILES[key] = name
    return key


def _shown(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
