"""The gpytorch pieces shared by the plain GP and the deep-kernel surrogates.

Composed from gpytorch's own parts (ConstantMean, ScaleKernel(RBFKernel), GaussianLikelihood,
ExactMarginalLogLikelihood), as in DyHPO (Wistuba et al. 2022, arXiv 2202.09774). The noise floor of
1e-4 keeps the kernel matrix positive definite when the same curve value is observed twice.
"""

from __future__ import annotations

from collections.abc import Iterable

import gpytorch
import torch
from gpytorch.constraints import GreaterThan
from linear_operator.utils.errors import NanError, NotPSDError

NOISE_FLOOR = 1e-4
# What a failed fit or prediction raises: a non positive definite kernel matrix, a failed Cholesky, NaNs.
NUMERICAL_ERRORS = (NotPSDError, NanError, torch.linalg.LinAlgError)


class SurrogateFitError(ArithmeticError):
    """Training produced a non-finite loss; the caller refits from scratch."""


def adam(parameters: Iterable[torch.nn.Parameter], learning_rate: float) -> torch.optim.Adam:
    """Adam for surrogate fits; fused on the CPU (a surrogate has dozens of small tensors, and the per-tensor
    update loop cost more than the rest of a DyHPO step)."""
    parameters = list(parameters)
    fused = all(p.device.type == "cpu" and p.dtype == torch.float32 for p in parameters)
    return torch.optim.Adam(parameters, lr=learning_rate, fused=fused or None)


def gaussian_likelihood() -> gpytorch.likelihoods.GaussianLikelihood:
    return gpytorch.likelihoods.GaussianLikelihood(noise_constraint=GreaterThan(NOISE_FLOOR))


class ExactGPHead(gpytorch.models.ExactGP):
    """f ~ GP(c, s * RBF(z, z')) on input features z; ARD lengthscales when `ard_dims` is given.

    Shapes: z [N, D] -> MultivariateNormal over N points. Training data is set by the caller with
    `set_train_data(z, y, strict=False)`, because a deep kernel recomputes z at every optimisation step.
    """

    def __init__(self, likelihood: gpytorch.likelihoods.GaussianLikelihood, ard_dims: int | None = None) -> None:
        super().__init__(None, None, likelihood)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(ard_num_dims=ard_dims))

    def forward(self, z: torch.Tensor) -> gpytorch.distributions.MultivariateNormal:
        return gpytorch.distributions.MultivariateNormal(self.mean_module(z), self.covar_module(z))

    def marginal_log_likelihood(self) -> gpytorch.mlls.ExactMarginalLogLikelihood:
        return gpytorch.mlls.ExactMarginalLogLikelihood(self.likelihood, self)
