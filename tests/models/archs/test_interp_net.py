"""FlowInterpNet: zero-init average, exact warps for known flows, padding, training, errors."""
import pytest
import torch

from vidtoolbox.models.archs import FlowInterpNet
from vidtoolbox.ops.flow_warp import flow_warp


def test_untrained_net_averages_the_central_pair():
    torch.manual_seed(0)
    for k in (2, 4):
        net = FlowInterpNet(num_frames=k, mid_channels=4, num_levels=2)
        x = torch.rand(2, k, 3, 20, 28)
        out, aux = net(x)
        mid = (x[:, k // 2 - 1] + x[:, k // 2]) / 2
        assert torch.allclose(out, mid, atol=1e-6)
        assert torch.count_nonzero(aux['flow_t0']) == 0
        assert torch.allclose(aux['mask'], torch.full_like(aux['mask'], .5))


def test_known_flow_and_mask_give_exact_warp():
    """Bias-only heads: flow_t0 = (+1, 0) px and mask = 1 -> out(p) = I0(p + (1, 0)), an exact one-pixel shift."""
    net = FlowInterpNet(num_frames=2, mid_channels=4, num_levels=2, residual=False)
    with torch.no_grad():
        net.fine_head.bias.copy_(torch.tensor([1.0, 0.0, -1.0, 0.0, 30.0]))
    x = torch.rand(1, 2, 3, 16, 16)
    out, aux = net(x)
    assert torch.allclose(aux['flow_t0'][:, 0], torch.ones(1, 16, 16))
    assert torch.allclose(out[..., :, :-1], x[:, 0, :, :, 1:], atol=1e-5)
    assert torch.allclose(aux['warped1'], flow_warp(x[:, 1], aux['flow_t1'], padding_mode='border'))
    # coarse head: a constant coarse flow of 1 coarse pixel (1/4 resolution) is 4 full-resolution pixels
    with torch.no_grad():
        net.fine_head.bias.zero_()
        net.coarse_head.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
    _, aux = net(x)
    assert torch.allclose(aux['flow_t0'][:, 0], torch.full((1, 16, 16), 4.0), atol=1e-5)


def test_padding_matches_manual_padding():
    torch.manual_seed(0)
    net = FlowInterpNet(num_frames=2, mid_channels=4, num_levels=3)
    for p in net.parameters():
        torch.nn.init.normal_(p, 0, 0.1)
    x = torch.rand(1, 2, 3, 13, 18)
    out, _ = net(x)
    xp = torch.nn.functional.pad(x.reshape(1, 6, 13, 18), (0, 6, 0, 3), mode='replicate').reshape(1, 2, 3, 16, 24)
    assert out.shape == (1, 3, 13, 18)
    assert torch.allclose(out, net(xp)[0][..., :13, :18], atol=1e-5)


def test_learns_a_translation():
    """Frames shifted by -2 / +2 px: a few Adam steps beat the plain average on the (exact) middle frame."""
    torch.manual_seed(0)
    img = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 40, 40), 3, 1, 1)
    i0, mid, i1 = img[..., 4:28, 2:26], img[..., 4:28, 4:28], img[..., 4:28, 6:30]
    x = torch.stack((i0, i1), 1)
    net = FlowInterpNet(num_frames=2, mid_channels=8, num_levels=2)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    base = (0.5 * (i0 + i1) - mid).abs().mean().item()
    for _ in range(60):
        loss = (net(x)[0] - mid).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (net(x)[0] - mid).abs().mean().item() < 0.7 * base


def test_errors():
    with pytest.raises(ValueError, match='num_frames must be an even int'):
        FlowInterpNet(num_frames=3)
    net = FlowInterpNet(num_frames=2, mid_channels=2, num_levels=1)
    with pytest.raises(ValueError, match='expected K=2 context frames'):
        net(torch.rand(1, 4, 3, 8, 8))
    with pytest.raises(ValueError, match=r'\(B, K, 3, H, W\)'):
        net(torch.rand(1, 6, 8, 8))
