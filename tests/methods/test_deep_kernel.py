"""The deep-kernel surrogate: standardised targets map back to accuracies, and standardised weight embeddings give
a training row the same features in training and in prediction."""

from __future__ import annotations

import torch
from torch import nn

from fmsbench.methods.deep_kernel import DeepKernelFeatures, DeepKernelSurrogate, SurrogateRows


class Mean(nn.Module):
    """A toy featurizer: a fixed random projection of 4 numbers per checkpoint to 32 dims, on the scale (1e-3) of
    real metanetwork embeddings between checkpoints of one architecture."""

    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Linear(4, 32)

    def forward(self, prepared: list[torch.Tensor]) -> torch.Tensor:
        return 1e-3 * self.project(torch.stack(prepared))


def _rows(n: int, weights: bool = False) -> SurrogateRows:
    generator = torch.Generator().manual_seed(n)
    prepared = [torch.randn(4, generator=generator) for _ in range(n)] if weights else None
    return SurrogateRows(torch.rand(n, 3, generator=generator), torch.rand(n, generator=generator),
                         torch.rand(n, 5, generator=generator), prepared)


def test_standardised_targets_are_fitted_where_raw_ones_are_taken_for_noise() -> None:
    """Accuracies between 0.7 and 0.9 (variance 0.003) against gpytorch's initial noise of 0.69: in 300 Adam steps at
    DyHPO's learning rate the raw GP explains them as noise and predicts a constant; the standardised one fits."""
    rows = _rows(24)
    y = 0.7 + 0.2 * rows.x[:, 0]
    predictions = {}
    for standardize in (False, True):
        torch.manual_seed(0)
        surrogate = DeepKernelSurrogate(DeepKernelFeatures(3, 5), standardize=standardize)
        surrogate.fit(rows, y, 300)
        predictions[standardize], std = surrogate.predict(rows, y, rows)
        assert (std > 0).all()
    assert predictions[False].std() < 0.01 * float(y.std())  # a constant
    assert abs(predictions[True] - y.numpy()).mean() < 0.03  # the function


def test_standardised_embeddings_match_between_training_and_prediction() -> None:
    torch.manual_seed(0)
    features = DeepKernelFeatures(3, 5, featurizer=Mean(), standardize_weights=True)
    rows = _rows(10, weights=True)
    features.train()
    in_training = features(rows)
    features.eval()
    features.condition(rows)
    assert torch.allclose(features(rows), in_training, atol=1e-5)
    embedding = features._standardized(features.embed_weights(rows.weights))
    assert torch.allclose(embedding.std(0), torch.ones(32), atol=1e-4), "the 1e-3 differences, at unit scale"
