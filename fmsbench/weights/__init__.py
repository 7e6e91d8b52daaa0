"""Weight featurizers: checkpoints -> 32-d features for the deep-kernel surrogate of FMS.

``FEATURIZERS.get(name)(example_modules)`` with name "gmn" (graph metanetwork over traced parameter graphs),
"nfn" (neural functional for one plain CNN/MLP architecture) or "flat" (flattened weights, learned projection).
See `fmsbench.weights.base` for the interface; a new featurizer is one file here plus its import line below.
"""

from fmsbench.weights.base import FEATURIZERS, OUT_DIM, FeaturizerFactory, WeightFeaturizer
from fmsbench.weights.errors import CheckpointMismatchError, UnsupportedArchitectureError
from fmsbench.weights.flat import FlatFeaturizer, FlatInput
from fmsbench.weights.gmn import GMN, GMNConv, GMNFeaturizer  # noqa: I001  (registration order: gmn, nfn, flat)
from fmsbench.weights.nfn import NFN, NFNFeaturizer, NFNInput, NPLayer
from fmsbench.weights.structure import STRUCTURES, ParameterGraph, parameter_graph, structural_signature
from fmsbench.weights.symmetry import permute_state_dict, random_node_permutation

__all__ = [
    "FEATURIZERS", "OUT_DIM", "FeaturizerFactory", "WeightFeaturizer", "CheckpointMismatchError", "UnsupportedArchitectureError",
    "FlatFeaturizer", "FlatInput", "GMN", "GMNConv", "GMNFeaturizer", "NFN", "NFNFeaturizer", "NFNInput",
    "NPLayer", "STRUCTURES", "ParameterGraph", "parameter_graph", "structural_signature",
    "permute_state_dict", "random_node_permutation",
]
