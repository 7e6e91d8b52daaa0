"""Names that become paths, and output folders: every output stays under the folder the user chose.

Names read from recipes, hub files, the method registry and experiment files become single path components (a
hub file `<recipe name>.h5`, results `<out>/<hub>/<task>/<method>/seed<k>.json`). `safe_name` refuses any name
that would leave its folder or that a file system cannot hold as one component, so a crafted hub or recipe
cannot make fmsbench write elsewhere. `output_folder` refuses an output folder below a regular file up front,
instead of a traceback from mkdir once work has been done.
"""

from __future__ import annotations

from pathlib import Path

from fmsbench.errors import PathError

SEPARATORS = ("/", "\\")


def unsafe_reason(name: object) -> str | None:
    """Why `name` cannot be one file or folder name, or None if it can."""
    if not isinstance(name, str):
        return f"it is a {type(name).__name__}, not a string"
    if not name.strip():
        return "it is empty"
    if name in (".", ".."):
        return "it names a folder itself"
    if any(sep in name for sep in SEPARATORS):
        return "it contains a path separator"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "it contains a control character"
    return None


def safe_name(name: object, what: str, *, parameters: tuple[str, ...] = ()) -> str:
    """`name` itself if it can be one file or folder name; else PathError naming `what` ("recipe name", ...)."""
    reason = unsafe_reason(name)
    if reason is not None:
        raise PathError(f"{what} {name!r} cannot be used as a file or folder name: {reason}; use a plain name "
                        "without '/', '\\' or '..'", parameters=parameters)
    return name  # type: ignore[return-value]


def output_folder(folder: Path | str, parameter: str = "out") -> Path:
    """`folder` if it is, or can become, a folder: neither it nor any existing parent may be a regular file."""
    folder = Path(folder)
    for candidate in (folder, *folder.parents):
        if candidate.exists() or candidate.is_symlink():
            if not candidate.is_dir():
                where = "is" if candidate == folder else f"is under {candidate}, which is"
                raise PathError(f"{parameter} {folder} {where} a regular file, not a folder; choose another "
                                f"{parameter}", parameters=(parameter,))
            return folder
    return folder
