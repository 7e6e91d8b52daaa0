"""What a method may see during a replay: only what it has paid for (DESIGN.md, "Replay protocol").

Config c has b_c epochs trained. Visible: the hyperparameter table and search space (public before any
training), the fine-tuning curves of c for epochs 1..b_c (test metrics never: they are only reported),
the checkpoints of c at epochs 0..b_c, so an untouched config shows only its epoch-0 (pretrained) weights.
Anything else raises `UnpaidReadError`. The released FMS code leaked the epoch-1 fine-tuned weights of
configs it had not trained; this class is the one door that prevents such leaks.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from torch import nn

from fmsbench.errors import FmsbenchError, HubError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.layout import Layout

HIDDEN_METRICS = ("test_loss", "test_acc")


class UnpaidReadError(FmsbenchError):
    """A method asked for data it has not paid for: a curve past b_c, a checkpoint after b_c, or a test metric."""


class Observation:
    """A read-only view of one replay's state, handed to `Method.propose` at every step.

    Attributes (all copies, safe to keep): `configs` (hyperparameter table, index = config id, with the
    pretrained model index and its architecture), `search_space` (grid values per hyperparameter),
    `max_epoch`, `n_configs`, `n_models`, `budget` (total epochs of the run).
    """

    def __init__(self, bench: Benchmark, trained: np.ndarray, budget: int) -> None:
        self.__bench = bench  # name-mangled on purpose: methods reach the hub only through this class
        self.__trained = trained  # the loop's ledger of epochs trained per config; the loop mutates it
        self.configs: pd.DataFrame = bench.configs.copy()
        self.search_space: dict[str, list] = copy.deepcopy(bench.search_space)
        self.max_epoch = bench.max_epoch
        self.n_configs = bench.n_configs
        self.n_models = len(bench.model_ids)
        self.budget = budget
        models = bench.models
        self._arch_ids = [f"{arch}-{size}" for arch, size in zip(models["arch"], models["size"], strict=True)]
        self._examples: dict[str, nn.Module] = {}

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
        return int(self.__trained[config])

    def candidates(self) -> np.ndarray:
        """Config ids still below the max epoch: the pool a method chooses from."""
        return np.flatnonzero(self.__trained < self.max_epoch)

    def observed(self) -> np.ndarray:
        """Config ids trained for at least one epoch."""
        return np.flatnonzero(self.__trained > 0)

    # ----------------------------------------------------------------- paid data
    def curve(self, config: int, metric: str = "val_acc", upto: int | None = None) -> np.ndarray:
        """One metric of `config` at epochs 1..upto (default b_c); empty for an untouched config."""
        paid = self.epochs(config)
        upto = paid if upto is None else upto
        if metric in HIDDEN_METRICS:
            raise UnpaidReadError(f"'{metric}' is only reported, never shown to a method")
        if upto > paid:
            raise UnpaidReadError(f"config {config} is trained for {paid} epochs; its curve up to epoch {upto} is not paid for")
        if upto < 0:
            raise ValueError(f"upto must be >= 0, got {upto}")
        return self.__bench.curve(config, upto, metric)[1:].copy()

    def best_observed(self) -> float:
        """The incumbent: best validation accuracy over every paid (config, epoch); -inf before any."""
        observed = self.observed()
        if observed.size == 0:
            return float("-inf")
        return float(max(self.curve(int(c)).max() for c in observed))

    def checkpoint(self, config: int, epoch: int | None = None) -> dict[str, torch.Tensor]:
        """The state_dict of `config` at `epoch` (default b_c: epoch 0, the pretrained weights, if untouched)."""
        return self.__bench.checkpoint(config, self._paid_epoch(config, epoch))

    def module(self, config: int, epoch: int | None = None) -> nn.Module:
        """The torch module of `config` at `epoch` (default b_c), rebuilt from the architecture registry."""
        return self.__bench.module(config, self._paid_epoch(config, epoch))

    def _paid_epoch(self, config: int, epoch: int | None) -> int:
        paid = self.epochs(config)
        epoch = paid if epoch is None else epoch
        if epoch > paid:
            raise UnpaidReadError(
                f"config {config} is trained for {paid} epochs; its checkpoint at epoch {epoch} is not paid for"
            )
        return epoch

    # ----------------------------------------------------------------- architecture (public)
    def arch_id(self, config: int) -> str:
        """'<arch>-<size>' of the config's pretrained model: configs with the same arch_id share a layout."""
        return self._arch_ids[int(self.configs["model"].iat[config])]

    def layout(self, config: int) -> Layout:
        return self.__bench.layout(config)

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
                    raise HubError(f"hub {self.__bench.path} holds '{arch_id}' checkpoints that do not fit today's "
                                   f"'{arch_id}' module (built by an older fmsbench?); rebuild it with "
                                   "`fmsbench build-hub`") from None
        return dict(self._examples)
