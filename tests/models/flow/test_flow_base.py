"""Tests of the flow-source base class: the default context call (frame selection, resizing, errors)."""
import pytest
import torch

from vidtoolbox.models.flow import BaseFlowSource


class MeanDiff(BaseFlowSource):
    """Toy source: flow = (mean(dst) - mean(src)) in both channels; records what it was called with."""

    def flow(self, src, dst):
        self.check_pair(src, dst)
        self.calls = (src, dst)
        d = (dst - src).mean(dim=(1, 2, 3)).view(-1, 1, 1, 1)
        return d.expand(-1, 2, *src.shape[-2:]).clone()


def test_forward_is_flow_and_default_attributes():
    s = MeanDiff()
    a, b = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert torch.equal(s(a, b), s.flow(a, b))
    assert BaseFlowSource.differentiable is False and s.frames_key == 'lq'


def test_flow_from_context_picks_frames_and_resizes():
    clip = torch.arange(4.0).view(1, 4, 1, 1, 1).expand(2, 4, 3, 6, 8).clone()
    s = MeanDiff()
    out = s.flow_from_context(dict(lq=clip), 1, 3)
    assert torch.equal(s.calls[0], clip[:, 1]) and torch.equal(s.calls[1], clip[:, 3])
    assert torch.allclose(out, torch.full((2, 2, 6, 8), 2.0))
    up = s.flow_from_context(dict(lq=clip), -1, 0, size=(12, 32))  # x4 in width, x2 in height
    assert up.shape == (2, 2, 12, 32)
    assert torch.allclose(up[:, 0], torch.full((2, 12, 32), -12.0))
    assert torch.allclose(up[:, 1], torch.full((2, 12, 32), -6.0))
    gt_src = MeanDiff(frames_key='gt')
    gt_src.flow_from_context(dict(lq=clip[:, :2], data_samples=dict(gt=clip)), 0, 3)
    assert torch.equal(gt_src.calls[1], clip[:, 3])


def test_context_errors():
    s = MeanDiff()
    with pytest.raises(KeyError, match="no 'lq' clip"):
        s.flow_from_context(dict(gt=torch.rand(1, 2, 3, 4, 4)), 0, 1)
    with pytest.raises(ValueError, match=r'\(B, T, 3, h, w\)'):
        s.flow_from_context(dict(lq=torch.rand(2, 3, 4, 4)), 0, 1)
    clip = torch.rand(1, 3, 3, 4, 4)
    with pytest.raises(IndexError, match='dst_index=3 is out of range for 3 frames'):
        s.flow_from_context(dict(lq=clip), 0, 3)
    with pytest.raises(TypeError, match='src_index must be an int'):
        s.flow_from_context(dict(lq=clip), 0.5, 1)
    with pytest.raises(ValueError, match=r'size must be \(H, W\)'):
        s.flow_from_context(dict(lq=clip), 0, 1, size=(4, ))
    with pytest.raises(ValueError, match='same shape'):
        s(torch.rand(1, 3, 4, 4), torch.rand(2, 3, 4, 4))
    with pytest.raises(TypeError, match='frames_key'):
        MeanDiff(frames_key=1)


def test_sample_keys_name_the_sample_fields_each_source_reads(tmp_path):
    from vidtoolbox.models.flow import DISFlow, FileFlow, GTFlow
    assert MeanDiff().sample_keys == () and DISFlow().sample_keys == ()  # estimators read the network input
    assert MeanDiff(frames_key='gt').sample_keys == ('gt',)
    assert set(GTFlow().sample_keys) == {'ref_flows', 'flow_fw', 'flow_bw', 'ref_index'}
    assert FileFlow(str(tmp_path)).sample_keys == ('key',)
    assert FileFlow(str(tmp_path), pattern='{key}/{ref_index}_{dst}.flo').sample_keys == ('key', 'ref_index')
