"""HPO methods, one file per family, registered in `METHODS` under their CLI names.

Importing this package registers every method; the import order below is the order `fmsbench methods`
lists them: the paper's (random, gp, dyhpo, dyhpo-nocnn, the FMS variants), then the bandit baselines, then
Optuna's samplers and Syne Tune's schedulers (optional extras: registered always, runnable when installed).
"""

from fmsbench.methods import random_search  # noqa: F401, I001  (registration on import, in listing order)
from fmsbench.methods import gp  # noqa: F401
from fmsbench.methods import dyhpo  # noqa: F401
from fmsbench.methods import fms  # noqa: F401
from fmsbench.methods import successive_halving, bohb  # noqa: F401  (hyperband, asha; bohb)
from fmsbench.methods import optuna_samplers, syne_tune_schedulers  # noqa: F401  (optuna-*, syne-tune-*)
from fmsbench.methods.base import METHODS, describe

__all__ = ["METHODS", "describe"]
