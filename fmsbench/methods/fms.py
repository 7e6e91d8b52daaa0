"""The FMS methods: DyHPO whose deep kernel also sees the checkpointed weights (fms-gmn, fms-nfn, fms-flat).

FMS, "Improving Hyperparameter Optimization with Checkpointed Model Weights" (Mehta et al. 2024,
https://arxiv.org/abs/2406.18630): the DyHPO surrogate (`dyhpo.py`) with a 32-d embedding of the checkpoint at
epoch b-1 (epoch 0, the pretrained weights, for an untouched config) joined before the 128-unit layer and
trained jointly with the GP. The embedding is one of `fmsbench.weights.FEATURIZERS`, built from one example module
per architecture of the hub, as the replay's `Observation` reveals them; every registered featurizer gets its two
methods here, e.g.:

- gmn: graph metanetwork over traced parameter graphs, any mix of architectures, permutation invariant;
- nfn: neural functional, only for a hub of one plain CNN/MLP architecture (e.g. the Simple CNN hub);
- flat: flattened weights through a learned per-architecture projection, not permutation invariant.

"-nocnn" variants drop the learning-curve encoder, as `dyhpo-nocnn` does.
"""

from __future__ import annotations

from fmsbench.methods.dyhpo import register_dyhpo_variant
from fmsbench.weights import FEATURIZERS, FeaturizerFactory


def register_fms_variants(name: str, factory: FeaturizerFactory) -> None:
    """fms-<name> and fms-<name>-nocnn for the featurizer registered as `name`."""
    meta = FEATURIZERS.meta(name)
    one_architecture = bool(meta.get("one_architecture", False))
    register_dyhpo_variant(f"fms-{name}", f"FMS: DyHPO plus {meta.get('summary', f'the {name} weight embedding')}.",
                           one_architecture=one_architecture, featurizer=name)
    register_dyhpo_variant(f"fms-{name}-nocnn", f"fms-{name} without the learning-curve encoder.",
                           one_architecture=one_architecture, featurizer=name, use_curve=False)


FEATURIZERS.subscribe(register_fms_variants)  # every featurizer, including those registered later (plugins)
