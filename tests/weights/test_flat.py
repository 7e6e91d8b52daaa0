import torch
from invariance import embed, permuted_states
from weightzoo import SMALL_CASES, SimpleCNN, build_case, randomized

from fmsbench.weights import FEATURIZERS


def test_flat_works_for_every_architecture_in_one_batch():
    modules = {case: build_case(case) for case in SMALL_CASES}
    featurizer = FEATURIZERS.get("flat")(modules)
    prepared = [featurizer.prepare(case, m.state_dict()) for case, m in reversed(modules.items())]
    z = featurizer(prepared)
    assert z.shape == (len(modules), 32)
    torch.testing.assert_close(featurizer(prepared[2:3])[0], z[2])


def test_flat_is_not_permutation_invariant():
    torch.manual_seed(0)
    module = randomized(SimpleCNN())
    state, symmetric, _ = permuted_states(module)  # same function, checked
    z = embed(FEATURIZERS.get("flat")({"cnn": module}), "cnn", [state, symmetric])
    assert (z[0] - z[1]).abs().max() > 1e-3


def test_long_weight_vectors_are_subsampled_evenly():
    module = SimpleCNN()
    featurizer = FEATURIZERS.get("flat")({"cnn": module}, max_inputs=100)
    vector = featurizer.prepare("cnn", module.state_dict()).vector
    everything = torch.cat([p.detach().reshape(-1) for p in module.parameters()])
    assert vector.shape == (100,) and vector[0] == everything[0] and vector[-1] == everything[-1]
    assert featurizer.projections[0].in_features == 100
