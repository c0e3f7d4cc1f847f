"""OffsetMonitorHook: exact numbers with a hand-made generator; a tiny EDVR training run logs them, saves
pictures, warns and stops on overflow."""
import math
import os.path as osp
import uuid
from types import SimpleNamespace

import cv2
import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from vidtoolbox.engine.hooks.offset_monitor import AlignmentCapture, OffsetMonitorHook, OffsetOverflowError
from vidtoolbox.models.alignment.base import BaseAlignment, alignment_record

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_edvr_builtin.py')


class FixedBlock(BaseAlignment):
    """G = 2 groups × N = 2 offsets, constant over pixels (dy, dx): g0 (0, 1), (0, 1); g1 (0, 1), (2, 1)."""
    deform_groups = 2
    num_offsets = 2

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        b, _, h, w = ref_feat.shape
        vec = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 2.0, 1.0]) * self.gain
        return nbr_feat, dict(offsets=vec.view(1, 8, 1, 1).expand(b, 8, h, w).clone())

    gain = 1.0


class FixedGen(nn.Module):
    """T = 3 frames, reference 1; one record per frame named 'lvl', stride 1, plus a residual 'cas' record."""

    def __init__(self):
        super().__init__()
        self.block = FixedBlock()
        self.cas = FixedBlock()

    def forward(self, x):
        recs = []
        for t in range(x.shape[1]):
            _, aux = self.block(x[:, 1], x[:, t])
            recs.append(alignment_record(self.block, aux, name='lvl', nbr_index=t, ref_index=1))
        _, aux = self.cas(x[:, 1], x[:, 0])
        recs.append(alignment_record(self.cas, aux, name='cas', residual=True, nbr_index=0, ref_index=1))
        return x[:, 1], dict(alignments=recs)


def fake_runner(tmp_path, warnings):
    model = nn.Module()
    model.generator = FixedGen()
    return SimpleNamespace(model=model, iter=0, work_dir=str(tmp_path),
                           message_hub=MessageHub.get_instance(f'offset_test_{uuid.uuid4().hex}'),
                           logger=SimpleNamespace(warning=warnings.append))


def step(hook, runner, it, batch):
    runner.iter = it
    hook.before_train_iter(runner, it, batch)
    runner.model.generator(batch['inputs'])
    hook.after_train_iter(runner, it, batch, {})


def test_exact_statistics_with_groups_and_gt_flow(tmp_path):
    warnings = []
    runner = fake_runner(tmp_path, warnings)
    hook = OffsetMonitorHook(interval=2, vis_interval=0)
    hook.before_train(runner)
    B, T, h, w, scale = 2, 3, 4, 4, 4
    ref_flows = torch.zeros(B, T, 2, h * scale, w * scale)
    ref_flows[:, :, 0] = 4.0  # dx = 4 GT pixels = 1 LR pixel; zero flow at the reference does not matter (excluded)
    batch = dict(inputs=torch.rand(B, T, 3, h, w),
                 data_samples=dict(ref_flows=ref_flows, ref_index=torch.tensor([1, 1]), scale=torch.tensor([4, 4])))
    step(hook, runner, 0, batch)  # iteration 1: not due with interval 2
    assert 'train/offset/lvl/mean' not in runner.message_hub.log_scalars
    step(hook, runner, 1, batch)  # iteration 2: due
    hub = runner.message_hub
    get = lambda k: hub.get_scalar(f'train/offset/{k}').current()  # noqa: E731
    assert get('lvl/mean') == pytest.approx((3 + math.sqrt(5)) / 4, rel=1e-6)
    assert get('lvl/max') == pytest.approx(math.sqrt(5), rel=1e-6)
    # per-group std: group 0 -> 0, group 1 -> 1 (dy 0 and 2); G = 2 comes from the block's attributes
    assert get('lvl/diversity') == pytest.approx(0.5, rel=1e-6)
    # offsets (dx = 1) vs LR flow dx = 1: three exact, (dy = 2) is 2 px away
    assert get('lvl/within_1px') == pytest.approx(0.75)
    assert get('cas/mean') == pytest.approx((3 + math.sqrt(5)) / 4, rel=1e-6)
    assert 'train/offset/cas/within_1px' not in hub.log_scalars  # residual: no flow comparison
    assert warnings == []
    hook.after_train(runner)
    assert hook.capture is None


def test_capture_keeps_nothing_when_idle_and_detaches():
    gen = FixedGen()
    cap = AlignmentCapture(gen).attach()
    gen(torch.rand(1, 3, 3, 2, 2))
    assert cap.records == []
    cap.active = True
    gen(torch.rand(1, 3, 3, 2, 2))
    assert len(cap.records) == 4 and cap.records[0]['deform_groups'] == 2 and cap.records[0]['num_offsets'] == 2
    assert not cap.records[0]['offsets'].requires_grad
    cap.detach()
    cap.clear()
    gen(torch.rand(1, 3, 3, 2, 2))
    assert cap.records == []


def test_overflow_warns_then_stops(tmp_path):
    warnings = []
    runner = fake_runner(tmp_path, warnings)
    runner.model.generator.block.gain = 100.0  # mean |offset| = (300 + 100·√5) / 4 = 130.9 px
    batch = dict(inputs=torch.rand(1, 3, 3, 4, 4))
    hook = OffsetMonitorHook(interval=1, vis_interval=0)
    hook.before_train(runner)
    step(hook, runner, 4, batch)
    assert len(warnings) == 1
    msg = warnings[0]
    for part in ('iteration 5', '"lvl"', '130.9', 'overflow_threshold=50', 'lower learning rate',
                 'offset-fidelity', 'gradient clipping', 'max_residue'):
        assert part in msg, part
    hook.after_train(runner)
    stop = OffsetMonitorHook(interval=1, vis_interval=0, stop_on_overflow=True)
    stop.before_train(runner)
    with pytest.raises(OffsetOverflowError, match=r'iteration 7.*"lvl".*stop_on_overflow=True'):
        step(stop, runner, 6, batch)
    stop.after_train(runner)
    # non-finite offsets count as overflow too
    runner.model.generator.block.gain = float('nan')
    nan_hook = OffsetMonitorHook(interval=1, vis_interval=0, stop_on_overflow=True)
    nan_hook.before_train(runner)
    with pytest.raises(OffsetOverflowError, match='nan px'):
        step(nan_hook, runner, 0, batch)
    nan_hook.after_train(runner)


def test_bad_arguments():
    with pytest.raises(ValueError, match='interval must be a positive int'):
        OffsetMonitorHook(interval=0)
    with pytest.raises(ValueError, match='vis_interval must be an int >= 0'):
        OffsetMonitorHook(vis_interval=-1)
    with pytest.raises(ValueError, match='overflow_threshold must be a positive'):
        OffsetMonitorHook(overflow_threshold=0)


def write_config(tmp_path, **hook):
    hook_cfg = dict(dict(type='OffsetMonitorHook', interval=1, vis_interval=2), **hook)
    path = tmp_path / 'cfg.py'
    path.write_text(f"""_base_ = [{TINY!r}]
custom_hooks = [{hook_cfg!r}]
train_cfg = dict(max_iters=3, val_interval=1000)
train_dataloader = dict(collate_fn=dict(type='default_collate'))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=1000))
""")
    return str(path)


def build(tmp_path, cfg, name):
    from vidtoolbox.apis.runner import build_runner
    return build_runner(cfg, work_dir=str(tmp_path / name),
                        cfg_options=dict(experiment_name=f'{name}_{uuid.uuid4().hex[:8]}'))


def test_tiny_edvr_training_logs_figures_and_pictures(tmp_path):
    cfg = write_config(tmp_path, overflow_threshold=1e-9)  # any non-zero offset "overflows": warning only
    runner = build(tmp_path, cfg, 'run')
    runner.train()
    hub = runner.message_hub
    for lvl in ('pcd.l3', 'pcd.l2', 'pcd.l1', 'pcd.cascade'):
        vals, counts = hub.get_scalar(f'train/offset/{lvl}/mean').data
        assert len(vals) == 3  # every iteration (interval=1)
        mx = hub.get_scalar(f'train/offset/{lvl}/max').current()
        assert 0.0 <= vals[-1] <= mx and vals[-1] > 0  # offsets moved after the first update
        assert hub.get_scalar(f'train/offset/{lvl}/diversity').current() >= 0
    for lvl in ('pcd.l3', 'pcd.l2', 'pcd.l1'):  # GT flow from the built-in dataset's ref_flows
        assert 0.0 <= hub.get_scalar(f'train/offset/{lvl}/within_1px').current() <= 1.0
    assert 'train/offset/pcd.cascade/within_1px' not in hub.log_scalars
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert 'offset/pcd.l1/mean:' in log and 'offset/pcd.l2/within_1px:' in log
    assert 'offset overflow at iteration 2' in log
    vis = osp.join(runner.work_dir, 'offset_vis')
    for lvl in ('pcd.l3', 'pcd.l2', 'pcd.l1', 'pcd.cascade'):
        img = cv2.imread(osp.join(vis, f'iter_00000002_{lvl}.png'))
        assert img is not None and img.shape[0] > 96
    assert not osp.exists(osp.join(vis, 'iter_00000001_pcd.l1.png'))  # vis_interval=2


def test_tiny_edvr_training_stops_on_overflow(tmp_path):
    cfg = write_config(tmp_path, overflow_threshold=1e-9, stop_on_overflow=True, vis_interval=0)
    runner = build(tmp_path, cfg, 'stop')
    with pytest.raises(OffsetOverflowError, match=r'offset overflow at iteration 2: .*level "pcd\.'):
        runner.train()
