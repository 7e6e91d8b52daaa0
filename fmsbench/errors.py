"""Typed errors the CLI turns into one red line and a non-zero exit (no traceback unless --debug)."""


class FmsbenchError(Exception):
    """Base class: a user-facing problem whose message says what is wrong and how to fix it.

    `parameters` names the function parameters the message mentions by name (e.g. "budget"), so that a front end
    can show them in its own words (the CLI shows "--budget"); the library itself knows no flags.
    """

    exit_code = 1

    def __init__(self, message: str, *, parameters: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.parameters = parameters


class UnknownNameError(FmsbenchError, KeyError):
    """A name (method, dataset, architecture, featurizer, recipe) that no registry knows."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class RecipeError(FmsbenchError):
    """A recipe file that is missing, malformed, or has unknown/invalid keys."""

    exit_code = 2


class DatasetMissingError(FmsbenchError):
    """A real dataset whose files are not on disk."""

    exit_code = 2


class HubError(FmsbenchError):
    """A hub file that is missing, truncated, foreign or of an unsupported schema version."""

    exit_code = 2


class ZooError(FmsbenchError):
    """A model zoo to import, or an imported one, whose files are missing, malformed or do not fit the recipe."""

    exit_code = 2


class PluginError(FmsbenchError):
    """A plugin (an installed package's entry point or a local file) that cannot be loaded."""

    exit_code = 2


class PathError(FmsbenchError):
    """A name that cannot be one file or folder name (it would leave its folder), or an output folder that cannot
    be made (it lies below a regular file)."""

    exit_code = 2
