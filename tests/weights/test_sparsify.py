import torch

from fmsbench.weights.sparsify import top_k_incoming


def test_keeps_the_k_largest_per_row():
    norms = torch.tensor([[0.1, 0.5, 0.3, 0.9], [4.0, 3.0, 2.0, 1.0]])
    mask = top_k_incoming(norms, 2)
    assert mask.tolist() == [[False, True, False, True], [True, True, False, False]]


def test_ties_are_all_kept_so_the_choice_never_depends_on_order():
    norms = torch.tensor([[1.0, 2.0, 2.0, 2.0, 0.5]])
    assert top_k_incoming(norms, 2).tolist() == [[False, True, True, True, False]]
    assert top_k_incoming(torch.zeros(2, 6), 3).all()


def test_commutes_with_permutations_of_inputs_and_outputs():
    norms = torch.randn(7, 40).abs()
    rows, cols = torch.randperm(7), torch.randperm(40)
    assert torch.equal(top_k_incoming(norms[rows][:, cols], 5), top_k_incoming(norms, 5)[rows][:, cols])


def test_narrow_rows_keep_everything():
    assert top_k_incoming(torch.randn(3, 4), 8).all()
