import pytest
import torch
from weightzoo import SMALL_CASES, build_case, outputs, randomized

from fmsbench.weights.structure import parameter_graph
from fmsbench.weights.symmetry import permute_state_dict, random_node_permutation


@pytest.mark.parametrize("case", SMALL_CASES)
def test_hidden_permutations_preserve_the_function(case):
    module = randomized(build_case(case))
    spec = parameter_graph(module).spec
    state = module.state_dict()
    x = torch.randn(3, *spec.input_shape)
    source = random_node_permutation(spec, torch.Generator().manual_seed(0))
    permuted = permute_state_dict(spec, state, source)
    assert any(not torch.equal(state[k], permuted[k]) for k in state), "the permutation moved nothing"
    torch.testing.assert_close(outputs(module, permuted, x), outputs(module, state, x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("case", SMALL_CASES)
def test_permuting_inputs_changes_the_function(case):
    module = randomized(build_case(case))
    spec = parameter_graph(module).spec
    state = module.state_dict()
    x = torch.randn(3, *spec.input_shape)
    source = random_node_permutation(spec, torch.Generator().manual_seed(0), inputs=True)
    assert not torch.allclose(outputs(module, permute_state_dict(spec, state, source), x), outputs(module, state, x))


def test_outputs_and_inputs_never_move():
    spec = parameter_graph(build_case("own-mlp")).spec
    source = random_node_permutation(spec, torch.Generator().manual_seed(0))
    assert torch.equal(source[:12], torch.arange(12)) and torch.equal(source[-4:], torch.arange(28, 32))
