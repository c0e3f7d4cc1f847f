"""ops.flow_warp: the project's flow convention (backward warp, pixels, channels (dx, dy))."""
import pytest
import torch

from vidtoolbox.ops import base_grid, flow_warp, pixel_to_grid, resize_flow


def test_base_grid_is_x_then_y():
    g = base_grid(2, 3)
    assert g.shape == (1, 2, 2, 3)
    assert torch.equal(g[0, 0], torch.tensor([[0., 1., 2.], [0., 1., 2.]]))
    assert torch.equal(g[0, 1], torch.tensor([[0., 0., 0.], [1., 1., 1.]]))


@pytest.mark.parametrize('mode', ['bilinear', 'nearest', 'bicubic'])
def test_zero_flow_is_identity(mode):
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    out = flow_warp(x, torch.zeros(2, 2, 7, 9, dtype=torch.float64), interpolation=mode)
    assert torch.allclose(out, x, atol=1e-12)


def test_integer_shift_samples_p_plus_flow_and_round_trips():
    x = torch.randn(1, 2, 6, 8, dtype=torch.float64)
    flow = torch.zeros(1, 2, 6, 8, dtype=torch.float64)
    flow[:, 0] = 2.0   # dx = +2 (right)
    flow[:, 1] = -1.0  # dy = -1 (up)
    out = flow_warp(x, flow)  # out(y, x) = x(y - 1, x + 2), zero outside
    expected = torch.zeros_like(x)
    expected[:, :, 1:, :-2] = x[:, :, :-1, 2:]
    assert torch.allclose(out, expected, atol=1e-12)
    back = flow_warp(out, -flow)  # undoing the shift recovers the pixels that stayed inside
    assert torch.allclose(back[:, :, :-1, 2:], x[:, :, :-1, 2:], atol=1e-12)
    assert back[:, :, -1:].abs().max() <= 1e-12 and back[:, :, :, :2].abs().max() <= 1e-12


def test_half_pixel_is_bilinear_average_and_border_padding():
    x = torch.arange(12, dtype=torch.float64).view(1, 1, 3, 4)
    flow = torch.zeros(1, 2, 3, 4, dtype=torch.float64)
    flow[:, 0] = 0.5
    out = flow_warp(x, flow, padding_mode='border')
    assert torch.allclose(out[..., :-1], 0.5 * (x[..., :-1] + x[..., 1:]))
    assert torch.allclose(out[..., -1], x[..., -1])  # border: the last column repeats


def test_channels_last_flow_accepted():
    x = torch.randn(1, 3, 5, 6)
    flow = torch.randn(1, 2, 5, 6)
    assert torch.allclose(flow_warp(x, flow), flow_warp(x, flow.permute(0, 2, 3, 1)), atol=1e-6)


def test_pixel_to_grid_corners():
    coords = torch.tensor([[0.0, 3.0], [0.0, 4.0]]).view(1, 2, 1, 2)  # (x, y) of two points
    g = pixel_to_grid(coords, h=5, w=4, align_corners=True)
    assert torch.allclose(g, torch.tensor([[[[-1.0, -1.0], [1.0, 1.0]]]]))
    g = pixel_to_grid(coords, h=5, w=4, align_corners=False)
    assert torch.allclose(g, torch.tensor([[[[-0.75, -0.8], [0.75, 0.8]]]]))


def test_resize_flow_scales_each_component():
    flow = torch.ones(1, 2, 4, 6)
    flow[:, 1] = 3.0
    out = resize_flow(flow, (8, 3))  # height ×2, width ×0.5
    assert out.shape == (1, 2, 8, 3)
    assert torch.allclose(out[:, 0], torch.full((1, 8, 3), 0.5))
    assert torch.allclose(out[:, 1], torch.full((1, 8, 3), 6.0))
    assert resize_flow(flow, (4, 6)) is flow


def test_resized_flow_still_warps_consistently():
    """A constant 4-px shift at full size is a 2-px shift at half size."""
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0] = 4.0
    half = resize_flow(flow, (4, 4), mode='nearest')
    x = torch.randn(1, 1, 4, 4)
    expected = torch.zeros_like(x)
    expected[..., :-2] = x[..., 2:]
    assert torch.allclose(flow_warp(x, half), expected, atol=1e-6)


@pytest.mark.parametrize('x_shape,flow_shape,kwargs,match', [
    ((3, 5, 5), (1, 2, 5, 5), {}, r'x must be \(B, C, H, W\), got shape \(3, 5, 5\)'),
    ((1, 3, 5, 5), (1, 3, 5, 5), {}, r'flow must be \(B, 2, H, W\), got shape \(1, 3, 5, 5\)'),
    ((1, 3, 5, 5), (1, 2, 4, 5), {}, r'disagree in batch or spatial size'),
    ((2, 3, 5, 5), (1, 2, 5, 5), {}, r'disagree in batch or spatial size'),
    ((1, 3, 5, 5), (1, 2, 5, 5), dict(padding_mode='wrap'), r"padding_mode must be one of .* got 'wrap'"),
    ((1, 3, 5, 5), (1, 2, 5, 5), dict(interpolation='area'), r"interpolation must be one of .* got 'area'"),
])
def test_errors(x_shape, flow_shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        flow_warp(torch.zeros(x_shape), torch.zeros(flow_shape), **kwargs)


def test_resize_flow_auto_mode_averages_when_shrinking():
    flow = torch.arange(2 * 4 * 4, dtype=torch.float32).view(1, 2, 4, 4)
    small = resize_flow(flow, (2, 2), mode='auto')
    expected = torch.nn.functional.avg_pool2d(flow, 2) * 0.5  # mean over each 2×2 footprint, vectors halved
    assert torch.allclose(small, expected)
    big = resize_flow(flow, (8, 8), mode='auto')
    assert torch.allclose(big, resize_flow(flow, (8, 8), mode='bilinear'))
