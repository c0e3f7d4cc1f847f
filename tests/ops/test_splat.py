import pytest
import torch

from vidtoolbox.ops import fill_flow, flow_warp
from vidtoolbox.ops.splat import flow_reversal, forward_splat


def _const_flow(dx, dy, h=8, w=10, b=1):
    f = torch.zeros(b, 2, h, w)
    f[:, 0] = dx
    f[:, 1] = dy
    return f


@pytest.mark.parametrize('dx,dy', [(2.0, -1.0), (2.3, -1.2), (-0.5, 0.25)])
def test_translation_reverses_exactly(dx, dy):
    f = _const_flow(dx, dy)
    rev, valid = flow_reversal(f)
    m = valid[:, 0] > 0
    assert m.sum() > 0
    assert torch.allclose(rev[:, 0][m], torch.full_like(rev[:, 0][m], -dx), atol=1e-6)
    assert torch.allclose(rev[:, 1][m], torch.full_like(rev[:, 1][m], -dy), atol=1e-6)
    assert torch.all(rev[:, :, ~m[0]] == 0)


def test_holes_are_the_entering_border():
    # content moves right by 2 and up by 1 (pixel p goes to p + (2, -1)): columns 0-1 and the last row of b
    # receive nothing
    rev, valid = flow_reversal(_const_flow(2.0, -1.0))
    expected = torch.ones(8, 10)
    expected[:, :2] = 0
    expected[-1, :] = 0
    assert torch.equal(valid[0, 0], expected)


def test_fractional_translation_partial_weights_are_not_holes():
    # shift 2.3 right: column 2 of b gets weight 0.7 from column 0 of a -> valid; columns 0,1 holes
    _, weight = forward_splat(torch.ones(1, 1, 6, 6), _const_flow(2.3, 0.0, 6, 6))
    assert torch.allclose(weight[0, 0, :, 2], torch.full((6,), 0.7), atol=1e-6)
    assert torch.all(weight[0, 0, :, :2] == 0)
    assert torch.allclose(weight[0, 0, :, 3:], torch.ones(6, 3), atol=1e-6)


def test_splat_is_inverse_of_backward_warp_for_translation():
    torch.manual_seed(0)
    a = torch.rand(2, 3, 9, 11)
    f = _const_flow(3.0, 2.0, 9, 11, b=2)  # flow(a, b): a(p) = b(p + f)
    b_img, weight = forward_splat(a, f)
    # where b received a value, backward warping b with flow(a, b) gives a back
    back = flow_warp(b_img, f)
    inside = torch.zeros(9, 11, dtype=torch.bool)
    inside[:-2, :-3] = True
    assert torch.allclose(back[:, :, inside], a[:, :, inside], atol=1e-6)
    # total weight = number of source pixels landing inside (bilinear weights sum to 1)
    assert torch.allclose(weight.sum((1, 2, 3)), torch.full((2,), float(inside.sum())), atol=1e-4)


def test_reversal_of_reversal_is_identity_for_translation():
    f = _const_flow(1.5, 0.5, 12, 12)
    rev, valid = flow_reversal(f)
    # holes carry zero flow and would splat in place: fill them first (exact for a constant field)
    rev = fill_flow(rev, valid)
    back, valid2 = flow_reversal(rev)
    m = (valid2[0, 0] > 0)
    assert torch.allclose(back[0, :, m], f[0, :, m], atol=1e-6)


def test_collision_averages_values():
    # two pixels land on the same target: values are averaged by weight
    vals = torch.zeros(1, 1, 1, 3)
    vals[0, 0, 0, 0] = 2.0
    vals[0, 0, 0, 1] = 4.0
    f = torch.zeros(1, 2, 1, 3)
    f[0, 0, 0, 0] = 2.0  # pixel 0 -> 2
    f[0, 0, 0, 1] = 1.0  # pixel 1 -> 2
    f[0, 0, 0, 2] = -2.0  # pixel 2 -> 0
    out, w = forward_splat(vals, f)
    assert torch.allclose(w[0, 0, 0], torch.tensor([1.0, 0.0, 2.0]))
    assert torch.allclose(out[0, 0, 0], torch.tensor([0.0, 0.0, 3.0]))


def test_splat_gradients_reach_values_and_flow():
    vals = torch.rand(1, 2, 5, 5, requires_grad=True)
    f = (torch.rand(1, 2, 5, 5) * 0.8).requires_grad_()
    out, _ = forward_splat(vals, f)
    (out * torch.rand_like(out)).sum().backward()
    assert vals.grad is not None and vals.grad.abs().sum() > 0
    assert f.grad is not None and f.grad.abs().sum() > 0


def test_bad_inputs():
    with pytest.raises(ValueError, match=r'flow must be a \(B, 2, H, W\)'):
        flow_reversal(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match='disagree'):
        forward_splat(torch.zeros(1, 1, 4, 5), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match=r'values must be a \(B, C, H, W\)'):
        forward_splat(torch.zeros(4, 4), torch.zeros(1, 2, 4, 4))
    with pytest.raises(TypeError, match='floating-point'):
        flow_reversal(torch.zeros(1, 2, 4, 4, dtype=torch.long))
