"""Atomic file writes: write to a temporary file in the same folder, fsync, then rename over the target.

The temporary file of target `x` is `.x.<8 random characters>.tmp`. A writer killed before its rename (kill -9,
power loss) leaves it behind; the next write of the same target removes such leftovers first, so a rerun of the
same command cleans up after the killed one (two commands writing the same output at once are not supported).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fmsbench.paths import output_folder

_RANDOM = r"[a-z0-9_]{8}"  # tempfile.mkstemp's random part


@functools.cache
def _mode_for_new_files() -> int:
    """The mode open() would give a new file under the process umask (mkstemp's own 0600 would hide hubs and
    results from other users of a shared filesystem)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _temporaries(folder: Path, name_pattern: str) -> list[Path]:
    pattern = re.compile(rf"\.{name_pattern}\.{_RANDOM}\.tmp")
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        return [path for path in folder.iterdir() if pattern.fullmatch(path.name)]
    return []


def remove_stale_temporaries(target: Path | str) -> None:
    """Remove what killed atomic writes of `target` left behind."""
    target = Path(target)
    for stale in _temporaries(target.parent, re.escape(target.name)):
        stale.unlink(missing_ok=True)


def sweep_temporaries(folder: Path | str) -> None:
    """Remove every leftover temporary file of killed atomic writes in `folder` (of any target)."""
    for stale in _temporaries(Path(folder), r".+"):
        stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success it replaces `target`, on error it is removed.

    A reader never sees a half-written file, and an interrupted writer leaves the old file (or none).
    """
    target = Path(target)
    output_folder(target.parent, "folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for_new_files())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(target: Path | str, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
