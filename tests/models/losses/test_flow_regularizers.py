import math

import pytest
import torch

from vidtoolbox.models.losses import (FlowMagnitudeRegularizer, FlowSmoothnessRegularizer, flow_magnitude,
                                      flow_smoothness, sobel_gradients)


def test_magnitude_known_values():
    flow = torch.zeros(2, 2, 5, 9)
    flow[:, 0] = 4.0   # dx / (W - 1) = 0.5
    flow[:, 1] = -3.0  # dy / (H - 1) = -0.75
    assert flow_magnitude(flow).item() == pytest.approx(math.hypot(0.5, 0.75), rel=1e-6)
    assert flow_magnitude(flow, p=1).item() == pytest.approx(1.25, rel=1e-6)
    assert FlowMagnitudeRegularizer(weight=9.0)(flow).item() == pytest.approx(9 * math.hypot(0.5, 0.75), rel=1e-6)
    assert flow_magnitude(torch.zeros(1, 2, 4, 4)).item() == 0.0


def test_sobel_and_smoothness_on_ramps():
    ys, xs = torch.meshgrid(torch.arange(6.0), torch.arange(7.0), indexing='ij')
    flow = torch.stack((2.0 * xs, -0.5 * ys + 1.0), 0)[None]  # dx ramps along x, dy along y
    gx, gy = sobel_gradients(flow)
    # interior (replicate padding changes the border): exact slopes
    assert torch.allclose(gx[0, 0, 1:-1, 1:-1], torch.full((4, 5), 2.0))
    assert torch.allclose(gy[0, 1, 1:-1, 1:-1], torch.full((4, 5), -0.5))
    assert gy[0, 0].abs().max() == 0 and gx[0, 1].abs().max() == 0
    # mean over (channels, pixels) of (|gx| + |gy|) / 2 computed from the Sobel maps directly
    expected = 0.5 * (gx.abs().mean() + gy.abs().mean())
    assert flow_smoothness(flow).item() == pytest.approx(expected.item())
    assert flow_smoothness(torch.full((1, 2, 5, 5), 3.0)).item() == 0.0
    assert FlowSmoothnessRegularizer(weight=4.5)(flow).item() == pytest.approx(4.5 * expected.item())


def test_edge_aware_downweights_at_image_edges():
    flow = torch.zeros(1, 2, 8, 8)
    flow[..., 4:] = 5.0  # a flow edge between columns 3 and 4
    flat = torch.full((1, 3, 8, 8), 0.5)
    edge = flat.clone()
    edge[..., 4:] = 1.0  # an image edge at the same place
    plain = flow_smoothness(flow)
    assert flow_smoothness(flow, flat, edge_aware=True).item() == pytest.approx(plain.item())
    assert flow_smoothness(flow, edge, edge_aware=True).item() < 1e-6 * plain.item()
    f = flow.clone().requires_grad_()
    FlowSmoothnessRegularizer(edge_aware=True)(f, flat).backward()
    assert f.grad.abs().sum() > 0


def test_errors():
    with pytest.raises(ValueError, match=r'\(B, 2, H, W\)'):
        flow_magnitude(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match='needs the image'):
        flow_smoothness(torch.zeros(1, 2, 4, 4), edge_aware=True)
    with pytest.raises(ValueError, match='matching the flow'):
        flow_smoothness(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 5, 4), edge_aware=True)
    with pytest.raises(ValueError, match='weight'):
        FlowMagnitudeRegularizer(weight=-1)
    with pytest.raises(ValueError, match='p must be'):
        FlowMagnitudeRegularizer(p=0)
    with pytest.raises(ValueError, match='edge_constant'):
        FlowSmoothnessRegularizer(edge_constant=0)
