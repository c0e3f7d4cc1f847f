import pytest
import torch

from vidtoolbox.models.archs import EDVRNet


def tiny(**kw):
    cfg = dict(mid_channels=8, num_frames=3, deform_groups=2, num_extract_block=1, num_reconstruct_block=1)
    cfg.update(kw)
    return EDVRNet(**cfg)


def test_shapes_records_and_residual(helpers):
    torch.manual_seed(0)
    net = tiny()
    x = torch.rand(2, 3, 3, 8, 12)
    out, aux = net(x)
    assert out.shape == (2, 3, 32, 48)
    recs = aux['alignments']
    assert len(recs) == 3 * 4  # 3 frames × (3 PCD levels + cascade)
    strides = sorted({(r['name'], r['stride']) for r in recs})
    assert strides == [('pcd.cascade', 1), ('pcd.l1', 1), ('pcd.l2', 2), ('pcd.l3', 4)]
    for r in recs:
        h, w = 8 // r['stride'], 12 // r['stride']
        assert r['offsets'].shape == (2, 2 * 9 * 2, h, w)  # G=2, N=9 -> (dy, dx)
        assert r['masks'].shape == (2, 2 * 9, h, w)
        assert r['ref_index'] == 1 and r['residual'] == (r['name'] == 'pcd.cascade')
        # offset convs are zero-initialised: the network starts without deformation
        assert torch.count_nonzero(r['offsets']) == 0
    helpers.check_residual_sr(net, x, ref_index=1)


def test_no_tsa_and_gradients():
    torch.manual_seed(0)
    net = tiny(with_tsa=False)
    assert isinstance(net.fusion, torch.nn.Conv2d) and net.fusion.in_channels == 3 * 8
    x = torch.rand(1, 3, 3, 8, 8, requires_grad=True)
    out, _ = net(x)
    out.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad[:, 0].abs().sum() > 0
    # every parameter learns, the zero-initialised offset predictors of every PCD level included
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    for lvl in ('l1', 'l2', 'l3'):
        assert net.pcd_align.blocks[lvl].conv_offset.weight.grad.abs().sum() > 0, lvl


def test_paper_sizes_parameter_counts():
    m = EDVRNet()  # EDVR-M defaults
    n_m = sum(p.numel() for p in m.parameters())
    l = EDVRNet(mid_channels=128, num_reconstruct_block=40)
    n_l = sum(p.numel() for p in l.parameters())
    # EDVR-M is ~3.3 M parameters and EDVR-L ~20.7 M in the field's implementations
    assert 3.0e6 < n_m < 3.6e6, n_m
    assert 19e6 < n_l < 22e6, n_l


def test_errors():
    net = tiny()
    with pytest.raises(ValueError, match='num_frames=3'):
        net(torch.rand(1, 5, 3, 8, 8))
    with pytest.raises(ValueError, match='divisible by 4'):
        net(torch.rand(1, 3, 3, 10, 8))
    with pytest.raises(ValueError, match=r'\(B, T, 3, h, w\)'):
        net(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match='scale'):
        tiny(scale=3)
