"""HPO methods, one file per family, registered in `METHODS` under their CLI names.

Importing this package registers every method; the import order below is the order `fmsbench methods`
lists them (the paper's: random, gp, dyhpo, dyhpo-nocnn, then the FMS variants once their file is added).
"""

from fmsbench.methods import random_search  # noqa: F401, I001  (registration on import, in listing order)
from fmsbench.methods import gp  # noqa: F401
from fmsbench.methods import dyhpo  # noqa: F401
from fmsbench.methods.base import METHODS, describe

__all__ = ["METHODS", "describe"]
