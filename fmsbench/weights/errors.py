"""Typed errors of the weight featurizers (all FmsbenchError, so the CLI prints one red line)."""

from fmsbench.errors import FmsbenchError


class UnsupportedArchitectureError(FmsbenchError):
    """A module the parameter-graph builder or a featurizer cannot represent; the message names the op/module."""

    exit_code = 2


class CheckpointMismatchError(FmsbenchError):
    """A checkpoint whose state_dict does not fit the architecture it is said to belong to."""

    exit_code = 2
