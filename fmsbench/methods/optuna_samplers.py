"""`optuna-<sampler>`: Optuna's samplers (and pruners) choosing configs of the hub through ask/tell.

Optuna ("Optuna: A Next-generation Hyperparameter Optimization Framework", Akiba et al. 2019,
https://arxiv.org/abs/1907.10902) as an fmsbench method: one Optuna trial per config started. The sampler draws
a point of the hub's search space, which is snapped to the nearest config not trained yet (`optuna_space`); the
trial the study records carries that config's own hyperparameters (when the point is not a config, the sampled
trial is told FAIL, which samplers ignore, and the config is run as an enqueued trial), so the sampler learns
from what was trained. Objective: validation accuracy at the max epoch, maximised.

Without a pruner a trial asks the replay for the max epoch at once. With one (successive halving, Hyperband), a
trial advances one epoch per step and reports each paid epoch's validation accuracy; when the pruner
says so it ends as PRUNED and its config stays where it is. Every epoch goes through the replay loop's
accounting, like any other method's. Once every config has been started, the remaining budget continues the
best unfinished config to the max epoch (as Hyperband does here).

Optuna is an optional extra (`pip install 'fmsbench[optuna]'`): the methods are registered without it, and
building one without it is a one-line error.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fmsbench.errors import FmsbenchError, UnknownNameError
from fmsbench.extras import require
from fmsbench.methods.base import METHODS, build_settings
from fmsbench.methods.optuna_space import HubSearchSpace
from fmsbench.methods.successive_halving import continue_best
from fmsbench.replay.observation import Observation
from fmsbench.replay.protocol import Method, Proposal

if TYPE_CHECKING:
    import optuna

CONFIG_ATTR = "fmsbench_config"  # user attribute of every trial: the hub config it trained
STUDY_NAME = "fmsbench"  # fixed: Optuna's Hyperband pruner assigns brackets by hashing the study name
SAMPLERS = ("random", "tpe", "cmaes", "qmc", "gp")
PRUNERS = ("none", "sha", "hyperband")


@dataclass(frozen=True)
class OptunaSettings:
    """sampler: one of SAMPLERS; pruner: one of PRUNERS ("sha": successive halving); n_startup_trials: random
    trials before the sampler's model (tpe, cmaes, gp); eta and min_epoch: the pruners' reduction factor and
    smallest resource in epochs (sha, hyperband)."""

    sampler: str = "tpe"
    pruner: str = "none"
    n_startup_trials: int = 10
    eta: int = 3
    min_epoch: int = 1

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise UnknownNameError(f"unknown Optuna sampler '{self.sampler}'; choose one of: {', '.join(SAMPLERS)}")
        if self.pruner not in PRUNERS:
            raise UnknownNameError(f"unknown Optuna pruner '{self.pruner}'; choose one of: {', '.join(PRUNERS)}")
        if self.eta < 2 or self.min_epoch < 1 or self.n_startup_trials < 0:
            raise FmsbenchError(f"eta must be >= 2, min_epoch >= 1 and n_startup_trials >= 0; got {self.eta}, "
                                f"{self.min_epoch}, {self.n_startup_trials}")


class OptunaSearch(Method):
    """Drives an Optuna study through ask/tell on the replay's Observation (see the module docstring).

    Args:
        make_study: the study to run, built at the first step from the hub's max epoch (Hyperband needs it).
        settings: what the trajectory file records.
    """

    def __init__(self, make_study: Callable[[int], optuna.Study], settings: dict[str, Any]) -> None:
        super().__init__()
        self._make_study = make_study
        self._settings = settings
        self.study: optuna.Study | None = None
        self._space: HubSearchSpace | None = None
        self._stepwise = False
        self._trial: optuna.Trial | None = None
        self._reported = 0  # epochs of the current trial's config reported to it

    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def propose(self, obs: Observation) -> Proposal:
        start = time.perf_counter()
        with _quiet_optuna():
            proposal = self._next(obs)
        self.fit_seconds = time.perf_counter() - start
        return proposal

    def _next(self, obs: Observation) -> Proposal:
        import optuna

        if self.study is None:
            self.study = self._make_study(obs.max_epoch)
            self._space = HubSearchSpace(obs.search_space, obs.configs)
            self._stepwise = not isinstance(self.study.pruner, optuna.pruners.NopPruner)
        if self._trial is not None and not self._report(obs):
            config = self._trial.user_attrs[CONFIG_ATTR]
            return Proposal(config, obs.epochs(config) + 1)
        config = self._start(obs)
        if config is None:
            return continue_best(obs)
        return Proposal(config, 1 if self._stepwise else obs.max_epoch)

    def _report(self, obs: Observation) -> bool:
        """Report the current trial's newly paid epochs; True once it is told (finished or pruned)."""
        from optuna.trial import TrialState

        assert self.study is not None and self._trial is not None
        trial = self._trial
        config = trial.user_attrs[CONFIG_ATTR]
        curve = obs.curve(config)
        for epoch in range(self._reported + 1, curve.size + 1):
            trial.report(float(curve[epoch - 1]), epoch)
            self._reported = epoch
            if epoch < obs.max_epoch and self._stepwise and trial.should_prune():
                self.study.tell(trial, state=TrialState.PRUNED)
                self._trial = None
                return True
        if curve.size >= obs.max_epoch:
            self.study.tell(trial, float(curve[-1]))
            self._trial = None
            return True
        return False

    def _start(self, obs: Observation) -> int | None:
        """A new trial on an untouched config; None once every config has been started."""
        from optuna.trial import TrialState

        assert self.study is not None and self._space is not None
        untouched = np.flatnonzero(obs.trained() == 0)
        if untouched.size == 0:
            return None
        space = self._space
        trial = self.study.ask(space.distributions)
        config = space.nearest(trial.params, untouched)
        if trial.params != space.params(config):
            self.study.tell(trial, state=TrialState.FAIL)
            self.study.enqueue_trial(space.params(config))
            trial = self.study.ask(space.distributions)
            if trial.params != space.params(config):
                raise FmsbenchError("the Optuna study ran a waiting trial of its own instead of the config to "
                                    "train; give a study without enqueued trials")
        trial.set_user_attr(CONFIG_ATTR, config)
        self._trial, self._reported = trial, 0
        return config


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's per-trial log lines, its advice and its experimental-feature warnings (QMC, GP) are noise in a
    replay; errors still show."""
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def _sampler(settings: OptunaSettings, seed: int) -> optuna.samplers.BaseSampler:
    from optuna import samplers

    startup = settings.n_startup_trials
    build = {
        "random": lambda: samplers.RandomSampler(seed=seed),
        "tpe": lambda: samplers.TPESampler(seed=seed, n_startup_trials=startup),
        "cmaes": lambda: samplers.CmaEsSampler(seed=seed, n_startup_trials=startup, warn_independent_sampling=False),
        "qmc": lambda: samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False),
        "gp": lambda: samplers.GPSampler(seed=seed, n_startup_trials=startup),
    }
    return build[settings.sampler]()


def _pruner(settings: OptunaSettings, max_epoch: int) -> optuna.pruners.BasePruner:
    from optuna import pruners

    build = {
        "none": lambda: pruners.NopPruner(),
        "sha": lambda: pruners.SuccessiveHalvingPruner(min_resource=settings.min_epoch,
                                                       reduction_factor=settings.eta),
        "hyperband": lambda: pruners.HyperbandPruner(min_resource=settings.min_epoch, max_resource=max_epoch,
                                                     reduction_factor=settings.eta),
    }
    return build[settings.pruner]()


def create_study(settings: OptunaSettings, seed: int, max_epoch: int) -> optuna.Study:
    """The in-memory study a registered optuna-* method runs: its sampler and pruner, maximising."""
    import optuna

    with _quiet_optuna():
        return optuna.create_study(direction="maximize", sampler=_sampler(settings, seed),
                                   pruner=_pruner(settings, max_epoch), study_name=STUDY_NAME)


def register_optuna_method(name: str, summary: str, sampler: str, pruner: str = "none") -> None:
    """One registered method: Optuna's `sampler` with `pruner`, both fixed for this name."""
    requires = ("optuna", "cmaes") if sampler == "cmaes" else ("optuna",)

    def factory(seed: int, **overrides: Any) -> OptunaSearch:
        require(requires, "optuna", f"method {name}")
        settings = build_settings(OptunaSettings, overrides, {"sampler": sampler, "pruner": pruner})
        return OptunaSearch(lambda max_epoch: create_study(settings, seed, max_epoch), asdict(settings))

    factory.__doc__ = summary
    METHODS.register(name, summary=summary, extra="optuna", requires=requires)(factory)


register_optuna_method("optuna-random", "Optuna's RandomSampler, each config to the max epoch.", "random")
register_optuna_method("optuna-tpe", "Optuna's TPE sampler (Bergstra et al. 2011), each config to the max epoch.", "tpe")
register_optuna_method("optuna-cmaes", "Optuna's CMA-ES sampler on the numeric axes (the model at random).", "cmaes")
register_optuna_method("optuna-qmc", "Optuna's scrambled Sobol QMC sampler, each config to the max epoch.", "qmc")
register_optuna_method("optuna-gp", "Optuna's Gaussian-process sampler (log EI), each config to the max epoch.", "gp")
register_optuna_method("optuna-tpe-sha", "Optuna's TPE with its successive-halving pruner, epoch by epoch.", "tpe", "sha")
register_optuna_method("optuna-tpe-hyperband", "Optuna's TPE with its Hyperband pruner, epoch by epoch.", "tpe",
                       "hyperband")
