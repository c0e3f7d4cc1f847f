import pytest
import torch

from vidtoolbox.ops.flow_fill import consistency_error, consistency_mask, fill_flow


def _const(dx, dy, h=10, w=12):
    f = torch.zeros(1, 2, h, w)
    f[:, 0] = dx
    f[:, 1] = dy
    return f


def test_inverse_translation_pair_is_consistent():
    f = _const(1.7, -0.6)
    assert torch.allclose(consistency_error(f, -f), torch.zeros(1, 1, 10, 12), atol=1e-6)
    m = consistency_mask(f, -f, alpha=1.5, check_bounds=False)
    assert torch.all(m == 1)


def test_known_error_value_and_threshold():
    # f_ba = -f_ab + (1, 0.5): the round trip misses by |1| + |0.5| = 1.5 px everywhere
    f = _const(2.0, 1.0)
    g = -f + _const(1.0, 0.5)
    err = consistency_error(f, g)
    assert torch.allclose(err, torch.full_like(err, 1.5), atol=1e-6)
    assert torch.all(consistency_mask(f, g, alpha=1.5, check_bounds=False) == 1)
    assert torch.all(consistency_mask(f, g, alpha=1.4, check_bounds=False) == 0)


def test_bounds_check_marks_pixels_leaving_the_frame():
    f = _const(3.0, 0.0)
    m = consistency_mask(f, -f, check_bounds=True)
    assert torch.all(m[0, 0, :, -3:] == 0)
    assert torch.all(m[0, 0, :, :-3] == 1)


def test_occluding_region_is_flagged():
    f = _const(0.0, 0.0, 16, 16)
    g = torch.zeros_like(f)
    g[:, 0, 4:8, 4:8] = 5.0  # b's pixels there claim to come from elsewhere
    m = consistency_mask(f, g)
    assert torch.all(m[0, 0, 4:8, 4:8] == 0)
    assert m.sum() == 16 * 16 - 16


@pytest.mark.parametrize('method', ['idw', 'harmonic'])
def test_fill_restores_constant_field(method):
    torch.manual_seed(0)
    f = _const(3.0, -2.0, 24, 24)
    valid = (torch.rand(1, 1, 24, 24) > 0.6).float()
    valid[..., 5:20, 5:20] = 0  # a hole larger than the IDW radius
    out = fill_flow(f * valid, valid, method=method)
    assert torch.allclose(out, f, atol=1e-5)


def test_harmonic_fill_reproduces_linear_field():
    ys, xs = torch.meshgrid(torch.arange(16.), torch.arange(16.), indexing='ij')
    f = torch.stack([0.5 * xs, 0.25 * ys - 1])[None]
    valid = torch.ones(1, 1, 16, 16)
    valid[..., 5:11, 4:12] = 0
    out = fill_flow(f * valid, valid, method='harmonic', iters=500)
    assert torch.allclose(out, f, atol=1e-3)


def test_idw_weights_by_inverse_distance():
    # one invalid pixel between a valid 0 (distance 1) and a valid 3 (distance 2): (0/1 + 3/4) / (1 + 1/4) on
    # a 1-row image with radius 2, power 2
    f = torch.tensor([[0.0, 9.0, 0.0, 3.0]]).view(1, 1, 1, 4).repeat(1, 2, 1, 1)
    valid = torch.tensor([[1.0, 0.0, 0.0, 1.0]]).view(1, 1, 1, 4)
    out = fill_flow(f, valid, method='idw', radius=2, power=2.0)
    assert torch.allclose(out[0, 0, 0, 1], torch.tensor((0 / 1 + 3 / 4) / (1 + 1 / 4)))
    assert torch.allclose(out[0, 0, 0, 2], torch.tensor((0 / 4 + 3 / 1) / (1 / 4 + 1)))
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 0, 3] == 3


def test_valid_pixels_are_untouched_and_all_valid_is_identity():
    f = torch.randn(2, 2, 8, 8)
    assert fill_flow(f, torch.ones(2, 1, 8, 8)) is f
    valid = (torch.rand(2, 1, 8, 8) > 0.5).float()
    out = fill_flow(f, valid)
    assert torch.equal(out[valid.expand_as(f) > 0], f[valid.expand_as(f) > 0])


def test_bad_inputs():
    f = torch.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match='method must be one of'):
        fill_flow(f, torch.ones(1, 1, 4, 4), method='nearest')
    with pytest.raises(ValueError, match='valid_mask must be'):
        fill_flow(f, torch.ones(1, 1, 4, 5))
    with pytest.raises(ValueError, match='alpha must be a positive'):
        consistency_mask(f, f, alpha=0)
    with pytest.raises(ValueError, match='same shape'):
        consistency_error(f, torch.zeros(1, 2, 4, 5))
