"""The FMS methods: DyHPO whose deep kernel also sees the checkpointed weights (fms-gmn, fms-nfn, fms-flat).

FMS, "Improving Hyperparameter Optimization with Checkpointed Model Weights" (Mehta et al. 2024,
https://arxiv.org/abs/2406.18630): the DyHPO surrogate (`dyhpo.py`) with a 32-d embedding of the checkpoint at
epoch b-1 (epoch 0, the pretrained weights, for an untouched config) joined before the 128-unit layer and
trained jointly with the GP. The embedding is one of `fmsbench.weights.FEATURIZERS`, built here from one
example module per architecture of the hub, as the replay's `Observation` reveals them:

- gmn: graph metanetwork over traced parameter graphs, any mix of architectures, permutation invariant;
- nfn: neural functional, only for a hub of one plain CNN/MLP architecture (e.g. the Simple CNN hub);
- flat: flattened weights through a learned per-architecture projection, not permutation invariant.

"-nocnn" variants drop the learning-curve encoder, as `dyhpo-nocnn` does.
"""

from __future__ import annotations

from typing import Any

from fmsbench.methods.deep_kernel import WEIGHT_FEATURIZERS, FeaturizerFactory
from fmsbench.methods.dyhpo import register_dyhpo_variant
from fmsbench.replay.observation import Observation
from fmsbench.weights import FEATURIZERS, UnsupportedArchitectureError, WeightFeaturizer


# The GMN of FMS on a CPU budget: 2 layers of width 16 over parameter graphs that keep the 4 strongest incoming
# edges per node. Trained jointly with the GP at every Adam step, a metanetwork pass per checkpoint is the
# whole cost of FMS over DyHPO; at the featurizer's own defaults (3 x 32, 16 edges per node) fms-gmn was more
# than 100 times slower than dyhpo (benchmarks/bench_replay.py).
GMN_SIZE = {"hidden": 16, "num_layers": 2, "max_fan_in": 4}


def _from_hub(name: str, fallback: str | None = None, **options: Any) -> FeaturizerFactory:
    """A factory building a fresh `FEATURIZERS[name](modules, **options)` from the hub's architectures;
    `fallback` is the advice appended when the hub's architectures do not suit it."""

    def build(obs: Observation) -> WeightFeaturizer:
        try:
            return FEATURIZERS.get(name)(obs.example_modules(), **options)
        except UnsupportedArchitectureError as error:
            if fallback is None:
                raise
            raise UnsupportedArchitectureError(f"{error}; {fallback}") from None

    build.__name__ = build.__qualname__ = f"{name}_from_hub"
    return build


WEIGHT_FEATURIZERS.register("gmn")(_from_hub("gmn", **GMN_SIZE))
WEIGHT_FEATURIZERS.register("nfn")(_from_hub("nfn", fallback="use fms-gmn or fms-flat instead"))
WEIGHT_FEATURIZERS.register("flat")(_from_hub("flat"))

register_dyhpo_variant("fms-gmn", "FMS: DyHPO plus a graph-metanetwork (GMN) embedding of the checkpointed weights "
                                  "(Mehta et al. 2024).", featurizer="gmn")
register_dyhpo_variant("fms-gmn-nocnn", "fms-gmn without the learning-curve encoder.", featurizer="gmn",
                       use_curve=False)
register_dyhpo_variant("fms-nfn", "FMS with a neural-functional (NFN) weight embedding; hubs of one plain CNN/MLP "
                                  "architecture only.", one_architecture=True, featurizer="nfn")
register_dyhpo_variant("fms-nfn-nocnn", "fms-nfn without the learning-curve encoder.", one_architecture=True,
                       featurizer="nfn", use_curve=False)
register_dyhpo_variant("fms-flat", "FMS with flattened weights through a learned projection (FLAT; not permutation "
                                   "invariant).", featurizer="flat")
register_dyhpo_variant("fms-flat-nocnn", "fms-flat without the learning-curve encoder.", featurizer="flat",
                       use_curve=False)
