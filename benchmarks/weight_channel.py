"""Does the weight channel reach an FMS surrogate's predictions? Figures from one replay, before and after a change.

    .venv/bin/python benchmarks/weight_channel.py --hub hubs/simple-cnn.h5 [--task digits] [--method fms-gmn]
        [--budget 100] [--seed 0] [--setting KEY=VALUE ...]

Replays the method to the budget, then, on its last surrogate:
- gradient norm of the weight featurizer's parameters against the rest of the surrogate's, over one training step
  on every training row with every embedding computed afresh;
- spread of the weight features the joint layer sees (after standardisation when the method standardises): the
  mean over dimensions of their standard deviation across all configs of the hub, against the hyperparameter
  features';
- the final-epoch predictions with the real checkpoints and with every checkpoint's embedding replaced by the mean
  embedding: mean absolute change and Kendall's tau of both against the true final validation accuracy.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods import METHODS
from fmsbench.metrics import kendall_tau
from fmsbench.replay import Observation, replay
from fmsbench.runs.runner import parse_settings, seeded_torch


def gradient_norms(method: Any, obs: Observation) -> tuple[float, float]:
    """(featurizer, rest) gradient norms of one full-batch marginal-likelihood step, every embedding fresh."""
    surrogate = method._surrogate
    rows, y = method._training_rows(obs)
    features = surrogate.features
    batch, features.weight_batch = features.weight_batch, None  # every row afresh, with gradients
    surrogate.train()
    surrogate.zero_grad()
    target = surrogate._scaled(y)[0]
    z = features(rows)
    surrogate.gp.set_train_data(z, target, strict=False)
    (-surrogate.gp.marginal_log_likelihood()(surrogate.gp(z), target)).backward()
    features.weight_batch = batch
    own = {id(p) for p in features.featurizer.parameters()}

    def norm(params: list[torch.Tensor]) -> float:
        return float(torch.sqrt(sum((p.grad ** 2).sum() for p in params if p.grad is not None)))

    return (norm([p for p in surrogate.parameters() if id(p) in own]),
            norm([p for p in surrogate.parameters() if id(p) not in own]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", required=True)
    parser.add_argument("--task")
    parser.add_argument("--method", default="fms-gmn")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--setting", action="append", default=[])
    args = parser.parse_args()
    settings = parse_settings(args.setting)
    method = METHODS.get(args.method)(args.seed, **settings)
    with Benchmark(args.hub, args.task) as bench, seeded_torch(args.seed):
        result = replay(method, bench, args.budget)
        trained = np.zeros(bench.n_configs, np.int64)
        for step in result.steps:
            trained[step.config] = step.epoch
        obs = Observation(bench, trained, args.budget)
        featurizer_grad, rest_grad = gradient_norms(method, obs)
        surrogate = method._surrogate
        surrogate.eval()
        configs = np.arange(bench.n_configs)
        final_epochs = np.full(configs.size, bench.max_epoch)
        rows = method._rows(obs, configs, final_epochs)
        train, _ = method._training_rows(obs)
        with torch.no_grad():
            surrogate.features.condition(train)
            weights = surrogate.features._standardized(surrogate.features.embed_weights(rows.weights))
            hyper = surrogate.features.hyper(torch.cat([rows.x, rows.budget[:, None]], 1))
        real = method.predict(obs, configs, final_epochs)[0]
        mean_embedding = weights.mean(0, keepdim=True)
        original = surrogate.features._standardized
        surrogate.features._standardized = lambda embedding: mean_embedding.expand(len(embedding), -1)
        constant = method.predict(obs, configs, final_epochs)[0]
        surrogate.features._standardized = original
        truth = bench.final_val()
    print(f"{args.method} on {bench.hub_name}/{bench.task}, seed {args.seed}, {args.budget} epochs, "
          f"settings {settings or 'default'}")
    print(f"gradient norm: featurizer {featurizer_grad:.3g}, rest {rest_grad:.3g}, ratio {featurizer_grad / rest_grad:.3g}")
    print(f"feature spread over configs: weights {float(weights.std(0).mean()):.3g}, "
          f"hyperparameters {float(hyper.std(0).mean()):.3g}")
    print(f"final-epoch predictions: mean |change| with constant embeddings {np.abs(real - constant).mean():.4f} "
          f"(spread of predictions {real.std():.4f}); tau real {kendall_tau(real, truth):.3f}, "
          f"constant {kendall_tau(constant, truth):.3f}")


if __name__ == "__main__":
    main()
