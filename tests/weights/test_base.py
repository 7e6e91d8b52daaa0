import pytest
import torch
from weightzoo import SimpleCNN

from fmsbench.errors import UnknownNameError
from fmsbench.weights import FEATURIZERS, WeightFeaturizer


def test_registry_names_the_three_featurizers():
    assert sorted(FEATURIZERS.names()) == ["flat", "gmn", "nfn"]
    with pytest.raises(UnknownNameError, match="unknown featurizer 'mlp'; choose one of"):
        FEATURIZERS.get("mlp")


@pytest.mark.parametrize("name", ["gmn", "nfn", "flat"])
def test_common_interface(name):
    module = SimpleCNN()
    featurizer = FEATURIZERS.get(name)({"simple-cnn": module})
    assert isinstance(featurizer, WeightFeaturizer) and featurizer.out_dim == 32
    prepared = featurizer.prepare("simple-cnn", module.state_dict())
    assert featurizer([prepared, prepared]).shape == (2, 32)
    assert featurizer([]).shape == (0, 32)
    with pytest.raises(UnknownNameError, match="unknown architecture 'resnet'"):
        featurizer.prepare("resnet", module.state_dict())
    assert sum(p.numel() for p in featurizer.parameters()) > 0


def test_a_featurizer_needs_example_modules():
    with pytest.raises(ValueError, match="at least one example module"):
        FEATURIZERS.get("gmn")({})


def test_prepare_is_pure():
    module = SimpleCNN()
    featurizer = FEATURIZERS.get("gmn")({"cnn": module})
    state = module.state_dict()
    before = {k: v.clone() for k, v in state.items()}
    a, b = featurizer.prepare("cnn", state), featurizer.prepare("cnn", state)
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_attr, b.edge_attr)
    assert all(torch.equal(before[k], v) for k, v in state.items())
