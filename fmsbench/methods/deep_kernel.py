"""The deep-kernel surrogate of DyHPO and FMS: a feature extractor whose output feeds an exact GP.

DyHPO (Wistuba et al. 2022, "Supervising the Multi-Fidelity Race of Hyperparameter Configurations",
arXiv 2202.09774) and FMS (Mehta et al. 2024, arXiv 2406.18630), with DESIGN.md's defaults::

    h = LeakyReLU(W1 [x ; b / E])                       x: hyperparameters in [0, 1], 64 units
    l = MaxPool(Conv1d_{1->4, k=3}(curve))              curve: val acc of epochs 1..b-1, zero-padded ("nocnn": no l)
    w = featurizer(checkpoint at epoch b-1)             32-d, FMS only
    z = LeakyReLU(W2 [h ; l ; w])                       128 units
    y(b) ~ GP(c, s * RBF(z, z')) + N(0, sigma^2),       sigma^2 >= 1e-4

Feature extractor and GP are trained jointly by Adam on the exact marginal likelihood, full batch.
Unlike DyHPO's code there is no BatchNorm after W1: batch statistics at training time and running
statistics at prediction time would give the GP different features for the same training rows.

Weight featurizers (FMS) are `fmsbench.weights.WeightFeaturizer` modules: `prepare(arch_id, state_dict)` is pure,
parameter-free preprocessing (cached per (config, epoch) by the method and reused across refits), and
`forward(list_of_prepared) -> Tensor[B, 32]` is trained jointly with the GP.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fmsbench.methods.gp_parts import NUMERICAL_ERRORS, ExactGPHead, SurrogateFitError, adam, gaussian_likelihood
from fmsbench.weights import OUT_DIM as WEIGHT_FEATURES
from fmsbench.weights import WeightFeaturizer

HIDDEN_UNITS = 64
JOINT_UNITS = 128
CURVE_CHANNELS = 4
CURVE_KERNEL = 3


@dataclass
class SurrogateRows:
    """A batch of surrogate inputs: one row per (config, target epoch b).

    Shapes: x [B, D] scaled hyperparameters; budget [B] = b / max_epoch; curve [B, L] validation accuracy
    of epochs 1..b-1 (only what was paid for), zero-padded to L; weights: B prepared checkpoints at epoch
    b-1 (or the last paid epoch), or None without a featurizer.
    """

    x: torch.Tensor
    budget: torch.Tensor
    curve: torch.Tensor
    weights: list[Any] | None = None

    def __len__(self) -> int:
        return self.x.shape[0]

    def subset(self, index: np.ndarray) -> SurrogateRows:
        """The rows at `index` (a 1-D array of row numbers), in that order."""
        rows = torch.as_tensor(index, dtype=torch.long)
        weights = None if self.weights is None else [self.weights[i] for i in rows.tolist()]
        return SurrogateRows(self.x[rows], self.budget[rows], self.curve[rows], weights)


class DeepKernelFeatures(nn.Module):
    """[x ; b] -> 64, curve -> Conv1d + max-pool -> 4, weights -> 32; joined into 128 units.

    Args:
        n_inputs: hyperparameter features D (the budget is appended here).
        curve_length: L, at least the conv kernel size (3).
        use_curve: False for the "nocnn" variants (default True).
        featurizer: FMS weight featurizer producing [B, 32], or None (default).
        weight_batch: rows whose weight embedding is recomputed, with gradients, per refresh (None: all, at every
            training step); see `embed_weights`.
        weight_every: a refresh every this many training steps (default 1).
        standardize_weights: standardise each embedding dimension by its mean and standard deviation over the
            training rows (default False; see `condition`).
    """

    def __init__(self, n_inputs: int, curve_length: int, use_curve: bool = True,
                 featurizer: WeightFeaturizer | None = None, weight_batch: int | None = None,
                 weight_every: int = 1, standardize_weights: bool = False) -> None:
        super().__init__()
        if use_curve and curve_length < CURVE_KERNEL:
            raise ValueError(f"curve_length must be >= {CURVE_KERNEL} (the conv kernel); pad the curves to it")
        self.hyper = nn.Sequential(nn.Linear(n_inputs + 1, HIDDEN_UNITS), nn.LeakyReLU())
        self.curve = nn.Sequential(
            nn.Conv1d(1, CURVE_CHANNELS, CURVE_KERNEL), nn.AdaptiveMaxPool1d(1), nn.Flatten()
        ) if use_curve else None
        self.featurizer = featurizer
        self.weight_batch, self.weight_every = weight_batch, weight_every
        self.standardize_weights = standardize_weights
        self._weight_stats: tuple[torch.Tensor, torch.Tensor] | None = None  # training rows' mean and std
        self._training_calls = 0
        self._history: dict[int, tuple[Any, torch.Tensor]] = {}  # id(prepared) -> (prepared, last embedding)
        joined = HIDDEN_UNITS + (CURVE_CHANNELS if use_curve else 0) + (WEIGHT_FEATURES if featurizer else 0)
        self.joint = nn.Sequential(nn.Linear(joined, JOINT_UNITS), nn.LeakyReLU())

    def forward(self, rows: SurrogateRows, embedding: torch.Tensor | None = None) -> torch.Tensor:
        """Features [B, 128] of `rows`; `embedding`, when given, is their weight embedding already computed."""
        parts = [self.hyper(torch.cat([rows.x, rows.budget[:, None]], dim=1))]
        if self.curve is not None:
            parts.append(self.curve(rows.curve[:, None, :]))
        if self.featurizer is not None:
            if rows.weights is None:
                raise ValueError("this surrogate has a weight featurizer; give rows.weights (prepared checkpoints)")
            embedding = self.embed_weights(rows.weights) if embedding is None else embedding
            if embedding.shape != (len(rows), WEIGHT_FEATURES):
                raise ValueError(
                    f"the weight featurizer returned {tuple(embedding.shape)}; it must return "
                    f"[{len(rows)}, {WEIGHT_FEATURES}] (one {WEIGHT_FEATURES}-d embedding per row)"
                )
            parts.append(self._standardized(embedding))
        return self.joint(torch.cat(parts, dim=1))

    def condition(self, train: SurrogateRows) -> torch.Tensor | None:
        """Before predicting: fix the weight-embedding statistics to those of the training rows under the current
        parameters, as training computes them, so a row gets the same features in training and prediction.
        Returns the training rows' embedding (None without a featurizer), for `forward` to reuse."""
        if self.featurizer is None:
            return None
        embedding = self.embed_weights(train.weights).detach()
        if self.standardize_weights:
            self._weight_stats = _mean_std(embedding)
        return embedding

    def _standardized(self, embedding: torch.Tensor) -> torch.Tensor:
        """A checkpoint embedding's dimensions vary little between checkpoints of one architecture (about 1e-3 of
        their scale): next to the hyperparameter features they barely move the GP. Standardising them by the
        training rows' statistics (those of the batch in training, those fixed by `condition` in prediction)
        puts the differences between checkpoints at the scale of the other inputs."""
        if not self.standardize_weights:
            return embedding
        if self.training or self._weight_stats is None:
            mean, std = _mean_std(embedding)
        else:
            mean, std = self._weight_stats
        return (embedding - mean) / std

    def embed_weights(self, prepared: list[Any]) -> torch.Tensor:
        """The weight embeddings [B, 32] of `prepared` checkpoints.

        Evaluation: all computed afresh. Training with `weight_batch` set: afresh (with gradients) for checkpoints
        never embedded before and, at every `weight_every`-th call, for `weight_batch` others drawn at random; the
        last embedding (detached) for the rest: historical embeddings as in GNNAutoScale (Fey et al. 2021, arXiv
        2106.05609). The exact GP still sees every row and the metanetwork is still trained jointly with it, but
        an Adam step costs weight_batch / weight_every metanetwork passes instead of one per training row (which
        made FMS hundreds of times slower than DyHPO on a CPU).
        """
        assert self.featurizer is not None
        if not self.training or self.weight_batch is None or self.weight_batch >= len(prepared):
            return self.featurizer(prepared)
        self._training_calls += 1
        keys = [id(item) for item in prepared]  # _history holds each item, so no other object can take its id
        known = [i for i, key in enumerate(keys) if key in self._history]
        refresh = self._training_calls % self.weight_every == 0
        drawn = torch.randperm(len(known))[: self.weight_batch].tolist() if refresh else []
        stale = sorted(set(known) - {known[i] for i in drawn})
        fresh = sorted(set(range(len(prepared))) - set(stale))
        if not fresh:
            return torch.stack([self._history[key][1] for key in keys])
        embedding = self.featurizer([prepared[i] for i in fresh])
        for row, value in zip(fresh, embedding.detach(), strict=True):
            self._history[keys[row]] = (prepared[row], value)
        out = embedding.new_zeros(len(prepared), embedding.shape[1])
        if stale:
            out = out.index_copy(0, torch.tensor(stale), torch.stack([self._history[keys[i]][1] for i in stale]))
        return out.index_copy(0, torch.tensor(fresh), embedding)


def _mean_std(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-column mean and standard deviation (1 where a column is constant or there is one row)."""
    std = values.std(0, keepdim=True) if len(values) > 1 else torch.ones_like(values[:1])
    return values.mean(0, keepdim=True), torch.where(std > 1e-6, std, torch.ones_like(std))


class DeepKernelSurrogate(nn.Module):
    """Feature extractor + exact GP head, trained jointly; `fit` may be called again to refine.

    With `standardize`, the GP models (y - mean(y)) / std(y) of the targets it is given, as the plain GP does, and
    predictions are mapped back: gpytorch's initial noise and output scale (0.69 each) then start at the scale of
    the data instead of ten times the variance of validation accuracies in [0, 1].
    """

    def __init__(self, features: DeepKernelFeatures, learning_rate: float = 1e-3, standardize: bool = False) -> None:
        super().__init__()
        self.features = features
        self.gp = ExactGPHead(gaussian_likelihood())
        self.learning_rate = learning_rate
        self.standardize = standardize

    def _scaled(self, y: torch.Tensor) -> tuple[torch.Tensor, float, float]:
        """The GP's targets and the (shift, scale) that map them back."""
        if not self.standardize:
            return y, 0.0, 1.0
        spread = float(y.std()) if y.numel() > 1 else 0.0
        shift, scale = float(y.mean()), spread if spread > 1e-6 else 1.0
        return (y - shift) / scale, shift, scale

    def fit(self, rows: SurrogateRows, y: torch.Tensor, steps: int) -> None:
        """`steps` full-batch Adam steps on -log p(y | z(rows)). Raises SurrogateFitError on numerical failure."""
        self.fit_batches(itertools.repeat((rows, y), steps))

    def fit_batches(self, batches: Iterable[tuple[SurrogateRows, torch.Tensor]]) -> None:
        """One Adam step on -log p(y | z(rows)) per (rows, y) batch, one optimiser throughout (meta-training feeds
        batches of several tasks). Raises SurrogateFitError on numerical failure."""
        self.train()
        mll = self.gp.marginal_log_likelihood()
        optimizer = adam(self.parameters(), self.learning_rate)
        try:
            for rows, y in batches:
                y = self._scaled(y)[0]
                optimizer.zero_grad()
                z = self.features(rows)
                self.gp.set_train_data(z, y, strict=False)
                loss = -mll(self.gp(z), y)
                if not torch.isfinite(loss):
                    raise SurrogateFitError(f"non-finite marginal likelihood {float(loss)}")
                loss.backward()
                optimizer.step()
        except NUMERICAL_ERRORS as error:
            raise SurrogateFitError(str(error)) from error

    @torch.no_grad()
    def predict(self, train: SurrogateRows, y: torch.Tensor, test: SurrogateRows) -> tuple[np.ndarray, np.ndarray]:
        """Posterior predictive mean and std ([N] each) at `test`, conditioned on (train, y); raises SurrogateFitError."""
        self.eval()
        target, shift, scale = self._scaled(y)
        try:
            embedding = self.features.condition(train)
            self.gp.set_train_data(self.features(train, embedding), target, strict=False)
            posterior = self.gp.likelihood(self.gp(self.features(test)))
            mean, std = posterior.mean.numpy().astype(float), posterior.stddev.numpy().astype(float)
            return mean * scale + shift, std * scale
        except NUMERICAL_ERRORS as error:
            raise SurrogateFitError(str(error)) from error
