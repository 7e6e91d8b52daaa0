import pytest
import torch
from invariance import embed, one_weight_changed, permuted_states
from torch import nn
from weightzoo import MLP, SMALL_CASES, SimpleCNN, build_case, randomized

from fmsbench.weights import FEATURIZERS
from fmsbench.weights.errors import UnsupportedArchitectureError
from fmsbench.weights.nfn import NPLayer

PLAIN = [c for c in SMALL_CASES if c in ("own-simple-cnn", "own-mlp") or ":simple-cnn:" in c]


@pytest.mark.parametrize("case", PLAIN)
def test_nfn_is_invariant_to_hidden_permutations(case):
    torch.manual_seed(0)
    module = randomized(build_case(case))
    state, symmetric, broken = permuted_states(module)
    featurizer = FEATURIZERS.get("nfn")({"arch": module})
    z = embed(featurizer, "arch", [state, symmetric, broken, one_weight_changed(module)])
    assert z.shape == (4, 32)
    noise = (z[0] - z[1]).abs().max()
    torch.testing.assert_close(z[1], z[0], atol=1e-5, rtol=0)
    assert (z[0] - z[2]).abs().max() > max(1e-6, 10 * noise), "permuting inputs left the NFN output unchanged"
    assert (z[0] - z[3]).abs().max() > max(1e-6, 10 * noise), "changing a weight left the NFN output unchanged"


def test_nfn_is_one_trained_module():
    module = SimpleCNN()
    featurizer = FEATURIZERS.get("nfn")({"a": module, "b": SimpleCNN()})
    prepared = [featurizer.prepare("a", module.state_dict()), featurizer.prepare("b", SimpleCNN().state_dict())]
    first = featurizer(prepared)
    torch.testing.assert_close(featurizer(prepared), first)  # no fresh random network per call
    names = [n for n, _ in featurizer.named_parameters()]
    assert any(n.startswith("nfn.layers.0.weight_maps") for n in names)
    optimizer = torch.optim.SGD(featurizer.parameters(), lr=0.1)
    first.square().sum().backward()
    optimizer.step()
    assert not torch.allclose(featurizer(prepared), first)


def test_nfn_reads_a_linear_after_flatten_as_spatial_channels():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 5))
    featurizer = FEATURIZERS.get("nfn")({"flat-cnn": module})
    assert featurizer.prepare("flat-cnn", module.state_dict()).weights[1].shape == (5, 4, 64)
    state, symmetric, _ = permuted_states(module)
    z = embed(featurizer, "flat-cnn", [state, symmetric])
    torch.testing.assert_close(z[1], z[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize(("case", "reason"), [
    ("own-resnet", "affine parameters"), ("own-vit", "affine, cls, pos, qkv_bias parameters"),
])
def test_nfn_refuses_architectures_that_are_not_plain(case, reason):
    with pytest.raises(UnsupportedArchitectureError,
                       match=f"fms-nfn needs a hub of one plain CNN architecture; this hub has '{case}'.*{reason}"):
        FEATURIZERS.get("nfn")({case: build_case(case)})


def test_nfn_accepts_a_deepsets_chain():
    module = build_case("own-deepsets")  # phi, rho and head are one chain of Linears on the channels
    featurizer = FEATURIZERS.get("nfn")({"deepsets": module})
    assert featurizer([featurizer.prepare("deepsets", module.state_dict())]).shape == (1, 32)


def test_nfn_refuses_mixed_hubs():
    with pytest.raises(UnsupportedArchitectureError, match="this hub has several: cnn, mlp"):
        FEATURIZERS.get("nfn")({"cnn": SimpleCNN(), "mlp": MLP()})


def test_np_layer_is_equivariant():
    torch.manual_seed(0)
    layer = NPLayer(3, 4, 5)
    weights = [torch.randn(2, 6, 3, 4), torch.randn(2, 7, 6, 4), torch.randn(2, 2, 7, 4)]
    biases = [torch.randn(2, 6, 4), torch.randn(2, 7, 4), torch.randn(2, 2, 4)]
    p, q = torch.randperm(6), torch.randperm(7)
    permuted_w = [weights[0][:, p], weights[1][:, q][:, :, p], weights[2][:, :, q]]
    permuted_b = [biases[0][:, p], biases[1][:, q], biases[2]]
    out_w, out_b = layer(weights, biases)
    perm_w, perm_b = layer(permuted_w, permuted_b)
    torch.testing.assert_close(perm_w[0], out_w[0][:, p])
    torch.testing.assert_close(perm_w[1], out_w[1][:, q][:, :, p])
    torch.testing.assert_close(perm_w[2], out_w[2][:, :, q])
    torch.testing.assert_close(perm_b[1], out_b[1][:, q])
