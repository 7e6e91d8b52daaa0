import torch
from torch import nn

from fmsbench.hub.layout import flatten, layout_from_json, layout_of, layout_to_json, unflatten


def test_state_dict_round_trip_keeps_values_and_int_buffers() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    model(torch.randn(2, 3, 5, 5))
    state = model.state_dict()
    layout = layout_from_json(layout_to_json(layout_of(state)))
    restored = unflatten(flatten(state), layout)
    assert list(restored) == list(state)
    for name, tensor in state.items():
        assert restored[name].dtype == tensor.dtype
        assert torch.equal(restored[name], tensor)
    model.load_state_dict(restored)
