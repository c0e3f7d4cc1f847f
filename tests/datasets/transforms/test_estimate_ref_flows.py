"""EstimateRefFlows: flow(ref, t) estimated in the data pipeline; the same numbers as the flow source inside the
training step."""
import copy

import numpy as np
import pytest
import torch

import vidtoolbox.models  # noqa: F401  (registers the flow sources and the heads)
from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
from vidtoolbox.datasets.transforms import EstimateRefFlows, PackVideoInputs
from vidtoolbox.models.flow import DISFlow
from vidtoolbox.registry import MODELS


def _results(helpers, T=5, h=24, w=32, ref=2):
    return dict(lq=helpers.moving_frames(T, h, w, seed=3), ref_index=ref, key='clip/0')


def test_direction_and_zero_reference(helpers):
    """A texture moving 1 px/frame to the right: flow(ref, t) ≈ (t − ref, 0) (frame ref's pixel is t − ref px to
    the right in frame t); exactly zero at t = ref."""
    r = EstimateRefFlows()(_results(helpers, h=48, w=64))
    flows = r['ref_flows']
    assert len(flows) == 5 and all(f.shape == (48, 64, 2) and f.dtype == np.float32 for f in flows)
    assert not flows[2].any()
    for t in (0, 1, 3, 4):
        inner = flows[t][8:-8, 8:-8]
        assert np.median(inner[..., 0]) == pytest.approx(t - 2, abs=0.15), t
        assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.15), t


def test_equals_the_source_on_the_packed_clip(helpers):
    """The transform's flows are bit-identical to DISFlow.flow_from_context on the packed float32 clip."""
    r = EstimateRefFlows(flow=dict(type='DISFlow', preset='medium'))(_results(helpers))
    packed = PackVideoInputs()(r)
    ctx = dict(lq=packed['inputs'][None])
    for t in range(5):
        expected = DISFlow().flow_from_context(ctx, 2, t)[0] if t != 2 else torch.zeros(2, 24, 32)
        torch.testing.assert_close(packed['data_samples']['ref_flows'][t], expected, atol=0, rtol=0)


def _batch(pipeline, n=2, seed=0):
    """n samples of the built-in dataset (GT 64x80, LR 16x20) through ``pipeline``, collated like the runner does."""
    np.random.seed(seed)
    ds = SyntheticMotionDataset(num_clips=n, num_frames=5, gt_size=(64, 80), scale=4, pipeline=pipeline)
    samples = [ds[i] for i in range(n)]
    return dict(inputs=[s['inputs'] for s in samples], data_samples=[s['data_samples'] for s in samples])


def _head(flow, seed=0):
    torch.manual_seed(seed)
    head = MODELS.build(dict(
        type='VideoSR',
        generator=dict(type='EDVRNet', mid_channels=8, num_frames=5, deform_groups=2, num_extract_block=1,
                       num_reconstruct_block=1),
        losses=[dict(type='CharbonnierLoss'),
                dict(type='OffsetFidelityLoss', threshold=0.5, include_residual=True, flow=flow)]))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # offsets of a few pixels instead of the zero init
        for name, p in head.named_parameters():
            if 'conv_offset' in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return head


def test_offset_fidelity_in_the_step_equals_the_pipeline_path():
    """The same augmented batch: OffsetFidelityLoss(DISFlow) inside the step vs EstimateRefFlows in the pipeline +
    OffsetFidelityLoss(GTFlow). Equal to float rounding; and not the loss of another flow."""
    aug = [dict(type='PairedRandomCrop', gt_patch_size=64), dict(type='Flip', direction='horizontal'),
           dict(type='Flip', direction='vertical'), dict(type='RandomTranspose'), dict(type='TemporalReverse')]
    in_step = _batch(aug + [dict(type='PackVideoInputs')])
    in_pipe = _batch(aug + [dict(type='EstimateRefFlows', overwrite=True), dict(type='PackVideoInputs')])
    for a, b in zip(in_step['inputs'], in_pipe['inputs']):  # the same crops and flips (same numpy seed)
        assert torch.equal(a, b)
    losses = {}
    for name, flow, batch in (('step', dict(type='DISFlow'), in_step), ('pipeline', dict(type='GTFlow'), in_pipe),
                              ('gt', dict(type='GTFlow'), in_step)):
        head = _head(flow)
        data = head.data_preprocessor(copy.deepcopy(batch), True)
        with torch.no_grad():
            losses[name] = head(data['inputs'], data['data_samples'], mode='loss')
    assert losses['step']['loss_ofl'] > 0.1
    torch.testing.assert_close(losses['pipeline']['loss_ofl'], losses['step']['loss_ofl'], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(losses['pipeline']['loss_pix'], losses['step']['loss_pix'], rtol=0, atol=0)
    # the dataset's exact flow (GT resolution) gives another value: the comparison can tell flows apart
    assert abs(float(losses['gt']['loss_ofl'] - losses['step']['loss_ofl'])) > 1e-3


def test_gt_frames_give_gt_resolution_flows(helpers):
    frames = helpers.moving_frames(3, 24, 32, seed=1)
    r = EstimateRefFlows(frames_key='gt')(dict(lq=[f[::2, ::2] for f in frames], gt=frames, ref_index=1))
    assert [f.shape for f in r['ref_flows']] == [(24, 32, 2)] * 3


def test_bad_inputs(helpers):
    with pytest.raises(ValueError, match='GTFlow cannot estimate flow between two images'):
        EstimateRefFlows(flow=dict(type='GTFlow'))
    with pytest.raises(ValueError, match="frames_key must be one of \\('lq', 'gt'\\)"):
        EstimateRefFlows(frames_key='flow')
    with pytest.raises(TypeError, match='must be a flow-source config'):
        EstimateRefFlows(flow=torch.nn.Identity())
    r = _results(helpers)
    r['ref_flows'] = []
    with pytest.raises(KeyError, match='already carries ref_flows'):
        EstimateRefFlows()(r)
    with pytest.raises(ValueError, match=r'ref_index must be an int in \[0, 5\), got 5'):
        EstimateRefFlows()(dict(_results(helpers), ref_index=5))
    with pytest.raises(KeyError, match="results has no 'ref_index'"):
        EstimateRefFlows()(dict(lq=_results(helpers)['lq']))
    with pytest.raises(ValueError, match='has 1 frames but lq has 5'):
        EstimateRefFlows(frames_key='gt')(dict(_results(helpers), gt=[np.zeros((96, 128, 3), np.float32)]))
