"""What a method may see during a replay: only what it has paid for (DESIGN.md, "Replay protocol").

Config c has b_c epochs trained. Visible: the public facts (hyperparameter table, search space, architectures and
parameter layouts of the pretrained models, the run's budget), the fine-tuning curves of c for epochs 1..b_c
(test metrics never: they are only reported), the checkpoints of c at epochs 0..b_c, so an untouched config shows
only its epoch-0 (pretrained) weights. Anything else raises `UnpaidReadError`. The released FMS code leaked the
epoch-1 fine-tuned weights of configs it had not trained; this class is the one door that prevents such leaks.

Arguments are checked before anything is read: config, upto and epoch must be integers (Python or numpy; anything
else with `__index__` is converted first, so an object that merely compares like a small number cannot pass), and
metric a visible metric's name. This closes the interface; it cannot stop a method that reaches around it in the
same process (see `fmsbench.replay.isolation`, which runs a method in a worker holding only paid data).
"""

from __future__ import annotations

import copy
import dataclasses
import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from fmsbench.errors import FmsbenchError, HubError
from fmsbench.hub.benchmark import Benchmark, rebuild_module
from fmsbench.hub.layout import Layout
from fmsbench.hub.store import METRICS, ModelInfo

HIDDEN_METRICS = ("test_loss", "test_acc")
VISIBLE_METRICS = tuple(metric for metric in METRICS if metric not in HIDDEN_METRICS)


class UnpaidReadError(FmsbenchError):
    """A method asked for data it has not paid for: a curve past b_c, a checkpoint after b_c, or a test metric."""


@dataclass(frozen=True)
class PublicFacts:
    """What any method may know before paying anything; an isolated method's worker is given exactly this."""

    hub_name: str
    configs: pd.DataFrame
    search_space: dict[str, list]
    max_epoch: int
    budget: int
    num_classes: int
    models: tuple[ModelInfo, ...]  # without their `info` (zoo origin, pretraining settings)
    layouts: dict[int, Layout]  # per pretrained model that configs use

    @classmethod
    def of(cls, bench: Benchmark, budget: int) -> PublicFacts:
        first_config = bench.configs.reset_index().groupby("model")["config"].first()
        return cls(bench.hub_name, bench.configs.copy(), copy.deepcopy(bench.search_space), bench.max_epoch, budget,
                   bench.num_classes, tuple(dataclasses.replace(m, info={}) for m in bench.model_infos),
                   {int(model): bench.layout(int(config)) for model, config in first_config.items()})


def as_integer(value: object, name: str) -> int:
    """`value` as an exact int: Python and numpy integers, or anything whose `__index__` gives one; bools, floats,
    strings and objects that only compare like numbers are refused."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got a {type(value).__name__}") from None


class Observation:
    """A read-only view of one replay's state, handed to `Method.propose` at every step.

    Attributes (all copies, safe to keep): `configs` (hyperparameter table, index = config id, with the
    pretrained model index and its architecture), `search_space` (grid values per hyperparameter),
    `max_epoch`, `n_configs`, `n_models`, `budget` (total epochs of the run).
    """

    def __init__(self, bench: Benchmark, trained: np.ndarray, budget: int) -> None:
        self._open(PublicFacts.of(bench, budget), trained)
        self.__bench = bench  # name-mangled on purpose: methods reach the hub only through this class

    def _open(self, facts: PublicFacts, trained: np.ndarray) -> None:
        """Set the public attributes from `facts`; `trained` is the ledger of epochs per config (the loop's own,
        which it mutates)."""
        self.__trained = trained
        self.__facts = facts
        self.configs: pd.DataFrame = facts.configs.copy()
        self.search_space: dict[str, list] = copy.deepcopy(facts.search_space)
        self.max_epoch = facts.max_epoch
        self.n_configs = len(facts.configs)
        self.n_models = len(facts.models)
        self.budget = facts.budget
        self._arch_ids = [model.arch_id for model in facts.models]
        self._examples: dict[str, nn.Module] = {}

    def public_facts(self) -> PublicFacts:
        return self.__facts

    # ----------------------------------------------------------------- ledger
    @property
    def spent(self) -> int:
        """Epochs paid so far (every epoch of every config is paid exactly once)."""
        return int(self.__trained.sum())

    @property
    def remaining(self) -> int:
        return self.budget - self.spent

    def trained(self) -> np.ndarray:
        """b_c of every config (a copy)."""
        return self.__trained.copy()

    def epochs(self, config: int) -> int:
        """b_c: epochs trained so far of one config."""
        return int(self.__trained[self._config(config)])

    def candidates(self) -> np.ndarray:
        """Config ids still below the max epoch: the pool a method chooses from."""
        return np.flatnonzero(self.__trained < self.max_epoch)

    def observed(self) -> np.ndarray:
        """Config ids trained for at least one epoch."""
        return np.flatnonzero(self.__trained > 0)

    # ----------------------------------------------------------------- paid data
    def curve(self, config: int, metric: str = "val_acc", upto: int | None = None) -> np.ndarray:
        """One metric of `config` at epochs 1..upto (default b_c); empty for an untouched config."""
        config = self._config(config)
        metric = self._metric(metric)
        paid = int(self.__trained[config])
        upto = paid if upto is None else as_integer(upto, "upto")
        if upto < 0:
            raise ValueError(f"upto must be >= 0, got {upto}")
        if upto > paid:
            raise UnpaidReadError(f"config {config} is trained for {paid} epochs; its curve up to epoch {upto} is not paid for")
        return self._read_curve(config, upto, metric)

    def best_observed(self) -> float:
        """The incumbent: best validation accuracy over every paid (config, epoch); -inf before any."""
        observed = self.observed()
        if observed.size == 0:
            return float("-inf")
        return float(max(self.curve(int(c)).max() for c in observed))

    def checkpoint(self, config: int, epoch: int | None = None) -> dict[str, torch.Tensor]:
        """The state_dict of `config` at `epoch` (default b_c: epoch 0, the pretrained weights, if untouched)."""
        config = self._config(config)
        return self._read_checkpoint(config, self._paid_epoch(config, epoch))

    def module(self, config: int, epoch: int | None = None) -> nn.Module:
        """The torch module of `config` at `epoch` (default b_c), rebuilt from the architecture registry."""
        config = self._config(config)
        row = self.configs.iloc[config]
        return rebuild_module(self.__facts.models[int(row["model"])], self.__facts.num_classes,
                              float(row["dropout"]), self._read_checkpoint(config, self._paid_epoch(config, epoch)))

    def _read_curve(self, config: int, upto: int, metric: str) -> np.ndarray:
        """Paid curve values (arguments already checked): epochs 1..upto of one metric."""
        return self.__bench.curve(config, upto, metric)[1:].copy()

    def _read_checkpoint(self, config: int, epoch: int) -> dict[str, torch.Tensor]:
        """A paid checkpoint (arguments already checked)."""
        return self.__bench.checkpoint(config, epoch)

    # ----------------------------------------------------------------- argument checks
    def _config(self, config: object) -> int:
        config = as_integer(config, "config")
        if not 0 <= config < self.n_configs:
            raise ValueError(f"config must be in 0..{self.n_configs - 1}, got {config}")
        return config

    @staticmethod
    def _metric(metric: object) -> str:
        if type(metric) is not str:  # exactly str: a subclass could compare equal to one name and read another
            raise TypeError(f"metric must be one of {', '.join(VISIBLE_METRICS)}, got a {type(metric).__name__}")
        if metric in HIDDEN_METRICS:
            raise UnpaidReadError(f"'{metric}' is only reported, never shown to a method")
        if metric not in VISIBLE_METRICS:
            raise ValueError(f"metric must be one of {', '.join(VISIBLE_METRICS)}, got '{metric}'")
        return metric

    def _paid_epoch(self, config: int, epoch: object) -> int:
        paid = int(self.__trained[config])
        epoch = paid if epoch is None else as_integer(epoch, "epoch")
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        if epoch > paid:
            raise UnpaidReadError(
                f"config {config} is trained for {paid} epochs; its checkpoint at epoch {epoch} is not paid for"
            )
        return epoch

    # ----------------------------------------------------------------- architecture (public)
    def arch_id(self, config: int) -> str:
        """'<arch>-<size>' of the config's pretrained model: configs with the same arch_id share a layout."""
        return self._arch_ids[int(self.configs["model"].iat[self._config(config)])]

    def layout(self, config: int) -> Layout:
        return self.__facts.layouts[int(self.configs["model"].iat[self._config(config)])]

    def example_modules(self) -> dict[str, nn.Module]:
        """One module per arch_id (of its first config, at the public epoch 0): what weight featurizers are built
        from. Built once per replay; treat them as read-only."""
        if not self._examples:
            for config in range(self.n_configs):
                arch_id = self.arch_id(config)
                if arch_id in self._examples:
                    continue
                try:
                    self._examples[arch_id] = self.module(config, 0)
                except RuntimeError:  # load_state_dict: the stored layout is not today's architecture
                    raise HubError(f"hub '{self.__facts.hub_name}' holds '{arch_id}' checkpoints that do not fit "
                                   f"today's '{arch_id}' module (built by an older fmsbench?); rebuild it with "
                                   "`fmsbench build-hub`") from None
        return dict(self._examples)
