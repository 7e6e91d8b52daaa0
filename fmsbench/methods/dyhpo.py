"""`dyhpo`, `dyhpo-nocnn` and the factory that FMS variants register through (`register_dyhpo_variant`).

DyHPO (Wistuba et al. 2022, "Supervising the Multi-Fidelity Race of Hyperparameter Configurations",
arXiv 2202.09774) with DESIGN.md's schedule: the deep-kernel surrogate (`deep_kernel.py`) is trained from
scratch for `fit_steps` (1000) Adam steps at the first `scratch_fits` (10) fits, then refined for
`refine_steps` (50) steps per step; it is rebuilt from scratch after `patience` (default int(1.2 x max
epoch)) steps without incumbent improvement, and after a numerical failure (retried once, else the step
falls back to a random candidate). Training rows are every paid (config, epoch b) with the curve of
epochs 1..b-1 and, for FMS, the checkpoint at b-1: strictly earlier information, built by the same code
for training rows, EI candidates (b = b_c + 1: curve 1..b_c, checkpoint at b_c, epoch 0 if untouched)
and the final-epoch predictions behind Kendall's tau.

An FMS variant is one line, `register_dyhpo_variant("fms-gmn", "FMS with a GMN ...", featurizer="gmn")`, which
`fms.py` makes for every featurizer of `fmsbench.weights.FEATURIZERS`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fmsbench.errors import FmsbenchError
from fmsbench.methods.base import METHODS, build_settings
from fmsbench.methods.deep_kernel import CURVE_KERNEL, DeepKernelFeatures, DeepKernelSurrogate, SurrogateRows
from fmsbench.methods.encoding import EncodedConfigs
from fmsbench.methods.gp_parts import SurrogateFitError
from fmsbench.methods.model_based import ModelBasedMethod, paid_rows
from fmsbench.replay.observation import Observation
from fmsbench.weights import FEATURIZERS, UnsupportedArchitectureError, WeightFeaturizer


@dataclass(frozen=True)
class DyHPOSettings:
    """Every setting, with DyHPO's reference value (machinelearningnuremberg/DyHPO) where ours differs:

    n_initial: random one-epoch configs first (FMS 20; DyHPO's code 1; the same for all model-based methods);
    use_curve: learning-curve encoder on ("nocnn" variants: off); featurizer: name in
    `fmsbench.weights.FEATURIZERS` (FMS); fit_steps / refine_steps / scratch_fits / learning_rate: Adam schedule
    (1000 / 50 / 10 / 1e-3, as DyHPO's); patience: steps without incumbent improvement before a refit from scratch
    (None: int(1.2 x max epoch), as DyHPO's); warm_start: a surrogate state file written by
    `fmsbench.runs.transfer.meta_train` that every from-scratch surrogate starts from (None: random initialisation);
    weight_batch / weight_every (FMS): checkpoints re-embedded with gradients every weight_every Adam steps, the
    others use their last embedding (see `DeepKernelFeatures.embed_weights`; FMS's code: every row, every step);
    standardize_targets: the GP models standardised validation accuracies (DyHPO's code: raw values, False);
    standardize_weights (FMS): embedding dimensions standardised over the training rows (FMS's code: a sigmoid on
    the embedding, False here)."""

    n_initial: int = 20
    use_curve: bool = True
    featurizer: str | None = None
    fit_steps: int = 1000
    refine_steps: int = 50
    scratch_fits: int = 10
    learning_rate: float = 1e-3
    patience: int | None = None
    warm_start: str | None = None
    weight_batch: int = 4
    weight_every: int = 4
    standardize_targets: bool = True
    standardize_weights: bool = True


class DyHPO(ModelBasedMethod):
    """Deep-kernel multi-fidelity HPO; with a weight featurizer this is FMS (Mehta et al. 2024, arXiv 2406.18630).

    Args:
        seed: seeds the initial design and fallbacks (torch's generator is seeded by the runner).
        settings: see `DyHPOSettings`.
    """

    def __init__(self, seed: int, settings: DyHPOSettings) -> None:
        super().__init__(seed, settings.n_initial)
        self._settings = settings
        if settings.featurizer is not None:
            FEATURIZERS.get(settings.featurizer)  # an unknown name fails here, before any step
        self._surrogate: DeepKernelSurrogate | None = None
        self._fits = 0
        self._best, self._stale = float("-inf"), 0
        self._encoded = EncodedConfigs()
        self._prepared: dict[tuple[int, int], Any] = {}

    def settings(self) -> dict[str, Any]:
        return asdict(self._settings)

    # ----------------------------------------------------------------- surrogate schedule
    def fit(self, obs: Observation) -> bool:
        patience = self._settings.patience or int(1.2 * obs.max_epoch)
        best = obs.best_observed()
        self._best, self._stale = (best, 0) if best > self._best else (self._best, self._stale + 1)
        scratch = self._surrogate is None or self._fits < self._settings.scratch_fits or self._stale >= patience
        if scratch:
            self._surrogate, self._stale = self.new_surrogate(obs), 0
        rows, y = self._training_rows(obs)
        for _ in range(2):  # a failed fit is retried once from scratch
            steps = self._settings.fit_steps if scratch else self._settings.refine_steps
            try:
                self._surrogate.fit(rows, y, steps)
            except SurrogateFitError:
                self._surrogate, scratch = self.new_surrogate(obs), True
                continue
            self._fits += 1
            return True
        self._surrogate = None
        return False

    def new_surrogate(self, obs: Observation) -> DeepKernelSurrogate:
        """A surrogate for this hub: random initial weights, or the `warm_start` state."""
        featurizer = self._new_featurizer(obs)
        settings = self._settings
        features = DeepKernelFeatures(self._encoded(obs).shape[1], self._curve_length(obs), settings.use_curve,
                                      featurizer, settings.weight_batch, settings.weight_every,
                                      settings.standardize_weights)
        surrogate = DeepKernelSurrogate(features, settings.learning_rate, settings.standardize_targets)
        if self._settings.warm_start is not None:
            load_warm_start(surrogate, Path(self._settings.warm_start))
        return surrogate

    def _new_featurizer(self, obs: Observation) -> WeightFeaturizer | None:
        """A fresh `settings.featurizer` built from the hub's architectures (with the options it registered)."""
        name = self._settings.featurizer
        if name is None:
            return None
        meta = FEATURIZERS.meta(name)
        try:
            featurizer = FEATURIZERS.get(name)(obs.example_modules(), **meta.get("options", {}))
        except UnsupportedArchitectureError as error:
            if "advice" not in meta:
                raise
            raise UnsupportedArchitectureError(f"{error}; {meta['advice']}") from None
        if not isinstance(featurizer, nn.Module):
            raise TypeError("a weight featurizer must be a torch.nn.Module so that it trains with the GP")
        return featurizer

    def predict(self, obs: Observation, configs: np.ndarray, epochs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        assert self._surrogate is not None, "predict() before a successful fit()"
        train, y = self._training_rows(obs)
        try:
            return self._surrogate.predict(train, y, self._rows(obs, configs, epochs))
        except SurrogateFitError:
            return None

    # ----------------------------------------------------------------- rows
    def training_rows(self, obs: Observation, surrogate: DeepKernelSurrogate) -> tuple[SurrogateRows, torch.Tensor]:
        """Every paid (config, epoch) as rows for `surrogate`, which becomes this method's (meta-training builds
        the rows of each source task this way, for one shared surrogate)."""
        self._surrogate = surrogate
        return self._training_rows(obs)

    def _training_rows(self, obs: Observation) -> tuple[SurrogateRows, torch.Tensor]:
        configs, epochs, values = paid_rows(obs)
        return self._rows(obs, configs, epochs), torch.from_numpy(values)

    def _rows(self, obs: Observation, configs: np.ndarray, epochs: np.ndarray) -> SurrogateRows:
        """Rows for targets (config, epoch b): curve of epochs 1..min(b-1, b_c), checkpoint at that epoch."""
        curves = np.zeros((configs.size, self._curve_length(obs)), np.float32)
        weights: list[Any] | None = [] if self._settings.featurizer is not None else None
        paid_curves: dict[int, np.ndarray] = {}
        for row, (config, epoch) in enumerate(zip(configs.tolist(), epochs.tolist(), strict=True)):
            known = min(epoch - 1, obs.epochs(config))
            if config not in paid_curves:
                paid_curves[config] = obs.curve(config)
            curves[row, :known] = paid_curves[config][:known]
            if weights is not None:
                weights.append(self._prepared_checkpoint(obs, config, known))
        budget = np.asarray(epochs, np.float32) / obs.max_epoch
        return SurrogateRows(torch.from_numpy(self._encoded(obs)[configs]), torch.from_numpy(budget),
                             torch.from_numpy(curves), weights)

    def _prepared_checkpoint(self, obs: Observation, config: int, epoch: int) -> Any:
        key = (config, epoch)
        if key not in self._prepared:
            assert self._surrogate is not None and self._surrogate.features.featurizer is not None
            featurizer = self._surrogate.features.featurizer
            self._prepared[key] = featurizer.prepare(obs.arch_id(config), obs.checkpoint(config, epoch))
        return self._prepared[key]

    @staticmethod
    def _curve_length(obs: Observation) -> int:
        return max(obs.max_epoch, CURVE_KERNEL)


def load_warm_start(surrogate: DeepKernelSurrogate, path: Path) -> None:
    """Load a meta-trained surrogate state (see `fmsbench.runs.transfer`), with one-line errors."""
    if not path.is_file():
        raise FmsbenchError(f"warm-start surrogate {path} does not exist; meta-train it first "
                            "(`fmsbench experiment generalisation` does)")
    try:
        surrogate.load_state_dict(torch.load(path, weights_only=True))
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise FmsbenchError(f"warm-start surrogate {path} does not fit this method on this hub ({first}); "
                            "meta-train it with the same method on the same hub") from None


def register_dyhpo_variant(name: str, summary: str, one_architecture: bool = False, **fixed: Any) -> None:
    """Register a DyHPO-family method under `name`; `fixed` settings (use_curve, featurizer) cannot be overridden.

    `summary` is the one line `fmsbench methods` shows; `one_architecture` marks a method that only runs on hubs
    of one architecture (`--method all` leaves it out elsewhere).
    """
    build_settings(DyHPOSettings, {}, fixed)  # a typo in `fixed` fails at import, not mid-run

    def factory(seed: int, **overrides: Any) -> DyHPO:
        return DyHPO(seed, build_settings(DyHPOSettings, overrides, fixed))

    factory.__name__ = factory.__qualname__ = name.replace("-", "_")
    METHODS.register(name, summary=summary, one_architecture=one_architecture)(factory)


register_dyhpo_variant("dyhpo", "DyHPO: deep-kernel GP on hyperparameters, budget and learning curve "
                                "(Wistuba et al. 2022), multi-fidelity EI.")
register_dyhpo_variant("dyhpo-nocnn", "DyHPO without the learning-curve encoder.", use_curve=False)
