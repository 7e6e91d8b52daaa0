"""`hyperband` and `asha`: successive halving over epochs, on the replay loop's budget accounting.

Hyperband (Li et al. 2018, "Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization",
arXiv 1603.06560) and ASHA (Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning",
arXiv 1810.05934), configured the usual way for epoch-based tabular benchmarks: the resource is epochs,
from `min_epoch` (1) to `max_epoch` (the hub's), with reduction factor `eta` (3).

Rung epochs: max_epoch * eta^-k, rounded half up (exact when max_epoch / min_epoch is a power of eta), so
the top rung is always the max epoch. With s_max = floor(log_eta(max_epoch / min_epoch)) and
B = (s_max + 1) R, bracket s starts n = ceil(B / R * eta^s / (s + 1)) configs at r = max_epoch * eta^-s and
keeps the top floor(n_i / eta) at each rung (Li et al. 2018, Algorithm 1; `hyperband_schedule`).

Continuation: the replay resumes a config from its b_c epochs (its checkpoint), so a promotion from rung
epoch r_i to r_(i+1) costs r_(i+1) - r_i epochs, not r_(i+1) as in the papers' restart-from-scratch
accounting (bracket s = 3 of max epoch 27 costs 81 epochs instead of 108).

Sequential replay: Hyperband runs one bracket at a time, its brackets s = s_max..0 in a cycle, as long as
budget remains. ASHA promotes a config to the next rung whenever it is in the top 1/eta of its rung and not
yet promoted (highest rung first), else starts a new config at the bottom rung (Li et al. 2020, Algorithm 2).

A hub is a finite set of configs: new configs are drawn without replacement from the untouched ones. Once
none is left, no bracket can start, so the rest of the budget continues paused configs, best validation
accuracy at b_c first, to the hub's max epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from fmsbench.errors import FmsbenchError
from fmsbench.methods.base import METHODS, build_settings
from fmsbench.replay.observation import Observation
from fmsbench.replay.protocol import Method, Proposal

Schedule = list[list[tuple[int, int]]]  # per bracket s = s_max..0: (n_i configs, r_i epochs) per rung i
NewConfig = Callable[[Observation], int | None]  # an untouched config to start, or None once there is none


@dataclass(frozen=True)
class SuccessiveHalvingSettings:
    """eta: reduction factor (keep the top 1/eta per rung); min_epoch: the smallest rung's resource;
    max_epoch: the top rung (None: the hub's max epoch)."""

    eta: int = 3
    min_epoch: int = 1
    max_epoch: int | None = None

    def __post_init__(self) -> None:
        if self.eta < 2:
            raise FmsbenchError(f"eta must be at least 2, got {self.eta}")
        if self.min_epoch < 1:
            raise FmsbenchError(f"min_epoch must be at least 1, got {self.min_epoch}")
        if self.max_epoch is not None and self.max_epoch < self.min_epoch:
            raise FmsbenchError(f"max_epoch ({self.max_epoch}) must be at least min_epoch ({self.min_epoch})")

    def epoch_range(self, obs: Observation) -> tuple[int, int]:
        """(min_epoch, max_epoch) on this hub; a max_epoch beyond the hub's is a one-line error."""
        max_epoch = obs.max_epoch if self.max_epoch is None else self.max_epoch
        if not self.min_epoch <= max_epoch <= obs.max_epoch:
            raise FmsbenchError(
                f"max_epoch must be in {self.min_epoch}..{obs.max_epoch} (the hub's max epoch), got {max_epoch}"
            )
        return self.min_epoch, max_epoch


# --------------------------------------------------------------------------- schedule
def max_bracket(min_epoch: int, max_epoch: int, eta: int) -> int:
    """s_max = floor(log_eta(max_epoch / min_epoch)), in integers (a float log misses exact powers)."""
    s = 0
    while min_epoch * eta ** (s + 1) <= max_epoch:
        s += 1
    return s


def rung_epoch(max_epoch: int, eta: int, below_top: int) -> int:
    """max_epoch * eta^-below_top, rounded half up."""
    return math.floor(Fraction(max_epoch, eta**below_top) + Fraction(1, 2))


def hyperband_schedule(min_epoch: int, max_epoch: int, eta: int) -> Schedule:
    """(n_i, r_i) of every rung of every bracket, s = s_max..0 (Li et al. 2018, Algorithm 1 and Table 1)."""
    s_max = max_bracket(min_epoch, max_epoch, eta)
    schedule = []
    for s in range(s_max, -1, -1):
        n = -(-(s_max + 1) * eta**s // (s + 1))  # ceil(B / R * eta^s / (s + 1)) with B = (s_max + 1) R
        schedule.append([(n // eta**i, rung_epoch(max_epoch, eta, s - i)) for i in range(s + 1)])
    return schedule


# --------------------------------------------------------------------------- shared steps
def rung_value(obs: Observation, config: int, epoch: int) -> float:
    """Validation accuracy of `config` at its rung epoch (paid: b_c >= epoch)."""
    return float(obs.curve(config, upto=epoch)[-1])


def top_of_rung(obs: Observation, members: list[int], epoch: int, k: int) -> list[int]:
    """The k best members by validation accuracy at `epoch`, best first (ties: the earlier member first)."""
    return sorted(members, key=lambda config: -rung_value(obs, config, epoch))[:k]


def random_untouched(obs: Observation, rng: np.random.Generator) -> int | None:
    """A uniformly random config with no epoch trained yet (sampling without replacement), or None."""
    untouched = np.flatnonzero(obs.trained() == 0)
    return int(rng.choice(untouched)) if untouched.size else None


def continue_best(obs: Observation) -> Proposal:
    """Every config has been started: continue the paused one with the best accuracy at b_c to the max epoch."""
    best = max(obs.candidates(), key=lambda config: obs.curve(int(config))[-1])
    return Proposal(int(best), obs.max_epoch)


class Bracket:
    """One successive-halving run: n_0 new configs to r_0, then the top floor(|rung i| / eta) go on to r_(i+1).

    floor(floor(n / eta^i) / eta) = floor(n / eta^(i+1)), so a full bracket keeps exactly the schedule's n_i;
    a bracket that gets fewer new configs (the hub ran out) halves what it has, keeping at least one.
    """

    def __init__(self, rungs: list[tuple[int, int]], eta: int) -> None:
        self.n_new = rungs[0][0]
        self.epochs = [epoch for _, epoch in rungs]
        self.eta = eta
        self.members: list[list[int]] = [[] for _ in rungs]

    def next_proposal(self, obs: Observation, new_config: NewConfig) -> Proposal | None:
        """The bracket's next job, or None once its top rung is trained (or it could start no config at all)."""
        if len(self.members[0]) < self.n_new:
            config = new_config(obs)
            if config is not None:
                self.members[0].append(config)
                return Proposal(config, self.epochs[0])
            self.n_new = len(self.members[0])
        for rung, epoch in enumerate(self.epochs):
            members = self.members[rung]
            waiting = [config for config in members if obs.epochs(config) < epoch]
            if waiting:
                return Proposal(waiting[0], epoch)
            if rung + 1 < len(self.epochs) and members and not self.members[rung + 1]:
                self.members[rung + 1] = top_of_rung(obs, members, epoch, max(1, len(members) // self.eta))
        return None


# --------------------------------------------------------------------------- methods
class Hyperband(Method):
    """Hyperband's brackets in a cycle; new configs from `new_config` (uniform at random here, a model in BOHB)."""

    def __init__(self, seed: int, settings: SuccessiveHalvingSettings) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self._settings = settings
        self.schedule: Schedule = []
        self._bracket: Bracket | None = None
        self._started = 0

    def settings(self) -> dict[str, Any]:
        return asdict(self._settings)

    def propose(self, obs: Observation) -> Proposal:
        if not self.schedule:
            self.schedule = hyperband_schedule(*self._settings.epoch_range(obs), self._settings.eta)
        while True:
            if self._bracket is None:
                self._bracket = Bracket(self.schedule[self._started % len(self.schedule)], self._settings.eta)
                self._started += 1
            proposal = self._bracket.next_proposal(obs, self.new_config)
            if proposal is not None:
                return proposal
            if not self._bracket.members[0]:
                return continue_best(obs)
            self._bracket = None

    def new_config(self, obs: Observation) -> int | None:
        """The next config to start at a bracket's bottom rung (None once every config has been started)."""
        return random_untouched(obs, self.rng)


class ASHA(Method):
    """Asynchronous successive halving, one job at a time; rungs are Hyperband's most aggressive bracket."""

    def __init__(self, seed: int, settings: SuccessiveHalvingSettings) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self._settings = settings
        self.epochs: list[int] = []
        self.members: list[list[int]] = []  # configs per rung, in the order they reached it
        self._promoted: list[set[int]] = []  # configs of rung k already promoted to rung k + 1

    def settings(self) -> dict[str, Any]:
        return asdict(self._settings)

    def propose(self, obs: Observation) -> Proposal:
        eta = self._settings.eta
        if not self.epochs:
            min_epoch, max_epoch = self._settings.epoch_range(obs)
            s_max = max_bracket(min_epoch, max_epoch, eta)
            self.epochs = [rung_epoch(max_epoch, eta, s_max - k) for k in range(s_max + 1)]
            self.members = [[] for _ in self.epochs]
            self._promoted = [set() for _ in self.epochs]
        for rung in reversed(range(len(self.epochs) - 1)):
            members = self.members[rung]
            for config in top_of_rung(obs, members, self.epochs[rung], len(members) // eta):
                if config not in self._promoted[rung]:
                    self._promoted[rung].add(config)
                    self.members[rung + 1].append(config)
                    return Proposal(config, self.epochs[rung + 1])
        config = random_untouched(obs, self.rng)
        if config is None:
            return continue_best(obs)
        self.members[0].append(config)
        return Proposal(config, self.epochs[0])


@METHODS.register("hyperband")
def hyperband(seed: int, **overrides: Any) -> Hyperband:
    """Hyperband (Li et al. 2018): successive-halving brackets over epochs, random configs, eta 3."""
    return Hyperband(seed, build_settings(SuccessiveHalvingSettings, overrides))


@METHODS.register("asha")
def asha(seed: int, **overrides: Any) -> ASHA:
    """ASHA (Li et al. 2020): promote the top 1/eta of a rung whenever possible, else start a random config."""
    return ASHA(seed, build_settings(SuccessiveHalvingSettings, overrides))
