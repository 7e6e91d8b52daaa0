"""`syne-tune-<scheduler>`: Syne Tune's schedulers (RandomSearch, ASHA) deciding through their ask/tell calls.

Syne Tune ("Syne Tune: A Library for Large Scale Hyperparameter Tuning and Reproducible Research", Salinas et
al. 2022, https://proceedings.mlr.press/v188/salinas22a.html) as an fmsbench method, driven as its simulator
drives it with one worker: `suggest` a config, `on_trial_add`, then every paid epoch `on_trial_result` with
`metric_valid_error` (1 - validation accuracy, minimised) and `epoch`; a STOP or PAUSE decision ends the trial
(`on_trial_remove`), reaching the max epoch completes it (`on_trial_complete`). A trial advances one epoch per
step, and a paused trial that the scheduler resumes continues from its config's epochs, so every epoch is paid
once, through the replay loop.

Config space: one choice over the hub's config ids (`config_space`), the same space as the Syne Tune export
(`fmsbench hub export --format syne-tune`), so both ways run the same scheduler on the same configs. Syne Tune
would rerun a config it suggests twice from scratch; a hub config has one run, so a config already started is
asked again (up to `MAX_SUGGESTIONS` times), then an untouched config is drawn at random instead. Once every
config has been started, the remaining budget continues the best unfinished config to the max epoch.

Syne Tune 0.16 draws some of its random numbers from numpy's global generator (its RandomSearcher ignores its
random_seed; RandomSearch uses it throughout, ASHA after its first 5 trials); the method swaps in a generator
seeded by the run's seed around every Syne Tune call, so runs are reproducible and leave the process's global
generator alone. Syne Tune is an optional extra
(`pip install 'fmsbench[syne-tune]'`).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fmsbench.errors import FmsbenchError, UnknownNameError
from fmsbench.extras import require
from fmsbench.methods.base import METHODS, build_settings
from fmsbench.methods.successive_halving import continue_best, random_untouched
from fmsbench.replay.observation import Observation
from fmsbench.replay.protocol import Method, Proposal

if TYPE_CHECKING:
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer.scheduler import TrialScheduler

CONFIG_KEY = "config"
METRIC = "metric_valid_error"
RESOURCE = "epoch"
MAX_SUGGESTIONS = 100
SCHEDULERS = ("random", "asha")
SchedulerFactory = Callable[[dict[str, Any], int], "TrialScheduler"]  # (config space, max epoch) -> scheduler


def config_space(n_configs: int) -> dict[str, Any]:
    """Syne Tune's config space of a hub: one choice over its config ids."""
    from syne_tune.config_space import choice

    return {CONFIG_KEY: choice(list(range(n_configs)))}


@dataclass(frozen=True)
class SyneTuneSettings:
    """scheduler: one of SCHEDULERS (asha: Syne Tune's stopping-type ASHA, one bracket); eta and min_epoch: ASHA's
    reduction factor and grace period in epochs."""

    scheduler: str = "asha"
    eta: int = 3
    min_epoch: int = 1

    def __post_init__(self) -> None:
        if self.scheduler not in SCHEDULERS:
            raise UnknownNameError(f"unknown Syne Tune scheduler '{self.scheduler}'; choose one of: "
                                   f"{', '.join(SCHEDULERS)}")
        if self.eta < 2 or self.min_epoch < 1:
            raise FmsbenchError(f"eta must be >= 2 and min_epoch >= 1; got {self.eta}, {self.min_epoch}")


class SyneTuneMethod(Method):
    """Drives a Syne Tune TrialScheduler on the replay's Observation (see the module docstring).

    Args:
        make_scheduler: the scheduler to run, built at the first step from `config_space(n_configs)` and the
            hub's max epoch.
        seed: seeds the numpy generator Syne Tune's global draws use, and the draws on repeated suggestions.
        settings: what the trajectory file records.
    """

    def __init__(self, make_scheduler: SchedulerFactory, seed: int, settings: dict[str, Any]) -> None:
        super().__init__()
        self._make_scheduler = make_scheduler
        self._settings = settings
        self._rng = np.random.default_rng(seed)
        self._numpy_state = np.random.RandomState(seed).get_state()
        self.scheduler: TrialScheduler | None = None
        self._trial: Trial | None = None
        self._reported = 0
        self._paused: dict[int, Trial] = {}
        self._next_id = 0

    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def propose(self, obs: Observation) -> Proposal:
        start = time.perf_counter()
        with self._own_global_numpy():
            if self.scheduler is None:
                self.scheduler = self._make_scheduler(config_space(obs.n_configs), obs.max_epoch)
            if self._trial is None or self._report(obs):
                self._trial = self._begin(obs)
        self.fit_seconds = time.perf_counter() - start
        if self._trial is None:
            return continue_best(obs)
        config = self._trial.config[CONFIG_KEY]
        return Proposal(config, obs.epochs(config) + 1)

    def _report(self, obs: Observation) -> bool:
        """Tell the scheduler the current trial's newly paid epochs; True once the trial has ended."""
        from syne_tune.optimizer.scheduler import SchedulerDecision

        assert self.scheduler is not None and self._trial is not None
        trial = self._trial
        curve = obs.curve(trial.config[CONFIG_KEY])
        for epoch in range(self._reported + 1, curve.size + 1):
            self._reported = epoch
            result = {METRIC: 1.0 - curve[epoch - 1], RESOURCE: epoch}
            decision = self.scheduler.on_trial_result(trial, result)
            if decision in (SchedulerDecision.STOP, SchedulerDecision.PAUSE):
                self.scheduler.on_trial_remove(trial)
                if decision == SchedulerDecision.PAUSE:
                    self._paused[trial.trial_id] = trial
                return True
            if epoch == obs.max_epoch:
                self.scheduler.on_trial_complete(trial, result)
                return True
        return False

    def _begin(self, obs: Observation) -> Trial | None:
        """The next trial: a new one on an untouched config, or a paused one resumed; None when none is left."""
        from syne_tune.backend.trial_status import Trial

        assert self.scheduler is not None
        if not self._paused and not (obs.trained() == 0).any():
            return None
        for _ in range(MAX_SUGGESTIONS):
            suggestion = self.scheduler.suggest()
            if suggestion is None:
                break
            if not suggestion.spawn_new_trial_id:
                trial = self._paused.pop(suggestion.checkpoint_trial_id)
                if obs.epochs(trial.config[CONFIG_KEY]) >= obs.max_epoch:
                    continue
                self._reported = obs.epochs(trial.config[CONFIG_KEY])
                return trial
            config = dict(suggestion.config)
            if obs.epochs(config[CONFIG_KEY]) == 0:
                return self._add(Trial(self._next_id, config, datetime.datetime.now()))
        config_id = random_untouched(obs, self._rng)
        if config_id is None:
            return None
        return self._add(Trial(self._next_id, {CONFIG_KEY: config_id}, datetime.datetime.now()))

    def _add(self, trial: Trial) -> Trial:
        assert self.scheduler is not None
        self._next_id += 1
        self._reported = 0
        self.scheduler.on_trial_add(trial)
        return trial

    @contextlib.contextmanager
    def _own_global_numpy(self) -> Iterator[None]:
        """Numpy's global generator holds this run's state inside the block, the process's outside it."""
        outer = np.random.get_state()
        np.random.set_state(self._numpy_state)
        try:
            yield
        finally:
            self._numpy_state = np.random.get_state()
            np.random.set_state(outer)


def create_scheduler(settings: SyneTuneSettings, seed: int, space: dict[str, Any], max_epoch: int) -> TrialScheduler:
    """The scheduler a registered syne-tune-* method runs, minimising the validation error."""
    from syne_tune.optimizer.baselines import ASHA, RandomSearch

    syne_tune_log = logging.getLogger("syne_tune")
    level = syne_tune_log.level
    syne_tune_log.setLevel(logging.ERROR)  # ASHA warns about its own default arguments
    try:
        if settings.scheduler == "random":
            return RandomSearch(space, metrics=[METRIC], do_minimize=True, random_seed=seed)
        return ASHA(space, metric=METRIC, time_attr=RESOURCE, max_t=max_epoch, do_minimize=True, random_seed=seed,
                    grace_period=min(settings.min_epoch, max_epoch), reduction_factor=settings.eta)
    finally:
        syne_tune_log.setLevel(level)


def register_syne_tune_method(name: str, summary: str, scheduler: str) -> None:
    """One registered method: Syne Tune's `scheduler`, fixed for this name."""
    requires = ("syne_tune",)

    def factory(seed: int, **overrides: Any) -> SyneTuneMethod:
        require(requires, "syne-tune", f"method {name}")
        settings = build_settings(SyneTuneSettings, overrides, {"scheduler": scheduler})
        return SyneTuneMethod(lambda space, max_epoch: create_scheduler(settings, seed, space, max_epoch), seed,
                              asdict(settings))

    factory.__doc__ = summary
    METHODS.register(name, summary=summary, extra="syne-tune", requires=requires)(factory)


register_syne_tune_method("syne-tune-random", "Syne Tune's RandomSearch over the hub's configs, each to the max epoch.",
                          "random")
register_syne_tune_method("syne-tune-asha", "Syne Tune's ASHA (stopping type, eta 3) over the hub's configs.", "asha")
