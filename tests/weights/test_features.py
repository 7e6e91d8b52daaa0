import math

import torch

from fmsbench.weights.features import EDGE_CENTRE, io_position, to_grid


def test_one_by_one_kernel_lands_in_the_centre():
    grid = to_grid(torch.tensor([[[[2.0]]]]))
    assert grid.shape == (1, 1, 9)
    assert grid[0, 0, EDGE_CENTRE] == 2.0 and grid.abs().sum() == 2.0


def test_three_by_three_kernel_is_kept_and_large_kernels_are_pooled():
    kernel = torch.randn(4, 2, 3, 3)
    assert torch.equal(to_grid(kernel), kernel.reshape(4, 2, 9))
    big = torch.ones(1, 1, 7, 7)
    assert torch.allclose(to_grid(big), torch.ones(1, 1, 9))
    pooled = to_grid(torch.arange(36.0).reshape(1, 1, 6, 6))
    assert torch.allclose(pooled.reshape(3, 3), torch.nn.functional.avg_pool2d(torch.arange(36.0).reshape(1, 6, 6), 2)[0])


def test_small_rectangular_kernels_are_padded():
    grid = to_grid(torch.ones(1, 1, 1, 2)).reshape(3, 3)
    assert torch.equal(grid, torch.tensor([[0.0, 0, 0], [1, 1, 0], [0, 0, 0]]))


def test_io_position():
    pos = io_position(5)
    assert pos.shape == (5, 4)
    assert pos[0, 0] == 0 and pos[-1, 0] == 1 and math.isclose(pos[0, 1].item(), 1.0)
    assert io_position(1).shape == (1, 4)
