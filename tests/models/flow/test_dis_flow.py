"""Tests of the OpenCV DIS flow source: direction on a known shift, batching, cache, errors."""
import numpy as np
import pytest
import torch
from skimage import data

from vidtoolbox.models.flow import DISFlow, dis_flow_numpy
from vidtoolbox.ops import flow_warp
from vidtoolbox.registry import MODELS

MARGIN = 8


def shifted(shift, h=128, w=160, y0=100, x0=150):
    """ref crop and supp with ref(p) = supp(p + shift): flow(ref, supp) = shift = (dx, dy)."""
    img = data.astronaut()[y0:y0 + h, x0:x0 + w].astype(np.float32) / 255.0
    ref = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()
    return ref, torch.roll(ref, shifts=(shift[1], shift[0]), dims=(2, 3))


def interior(x):
    return x[..., MARGIN:-MARGIN, MARGIN:-MARGIN]


@pytest.mark.parametrize('preset', ['medium', 'fast', 'ultrafast'])
def test_known_shift_direction(preset):
    ref, supp = shifted((3, -2))
    flow = DISFlow(preset=preset)(ref, supp)
    assert flow.shape == (1, 2, 128, 160) and flow.dtype == torch.float32
    epe = interior((flow - torch.tensor([3.0, -2.0]).view(1, 2, 1, 1)).norm(dim=1)).mean().item()
    print(f'DIS {preset}: EPE {epe:.3f} px')
    assert epe < (0.5 if preset == 'medium' else 1.0)
    l1_warp = interior((flow_warp(supp, flow) - ref).abs()).mean()
    l1_zero = interior((supp - ref).abs()).mean()
    assert l1_warp < 0.5 * l1_zero


def test_batch_elements_are_independent_and_reverse():
    r1, s1 = shifted((3, -2))
    r2, s2 = shifted((-2, 1), y0=200, x0=250)
    src, dst = torch.cat([r1, r2]), torch.cat([s1, s2])
    src_ = DISFlow()
    flow = src_(src, dst)
    means = interior(flow).mean(dim=(2, 3))
    assert torch.allclose(means, torch.tensor([[3.0, -2.0], [-2.0, 1.0]]), atol=0.3)
    back = interior(src_(dst, src)).mean(dim=(2, 3))
    assert torch.allclose(back, -torch.tensor([[3.0, -2.0], [-2.0, 1.0]]), atol=0.3)
    single = src_(r2, s2)
    assert torch.equal(single[0], flow[1])


def test_numpy_function_matches_module_and_no_grad():
    ref, supp = shifted((3, -2))
    a = torch.rand_like(ref, requires_grad=True)
    out = DISFlow()(ref * a / a.detach(), supp)  # graph-carrying input: output must be detached
    assert not out.requires_grad
    np_flow = dis_flow_numpy(ref[0].permute(1, 2, 0).numpy(), supp[0].permute(1, 2, 0).numpy())
    assert np_flow.shape == (128, 160, 2)
    assert np.allclose(np_flow, out[0].permute(1, 2, 0).numpy())
    assert DISFlow.differentiable is False


def test_cache_lru():
    ref, supp = shifted((3, -2), h=32, w=48)
    src = MODELS.build(dict(type='DISFlow', preset='ultrafast', cache=True, cache_size=2))
    f1 = src(ref, supp)
    f2 = src(ref, supp)
    assert torch.equal(f1, f2) and (src.cache_hits, src.cache_misses) == (1, 1)
    src(supp, ref)
    src(ref, ref)  # evicts the oldest (ref, supp)
    src(ref, supp)
    assert (src.cache_hits, src.cache_misses) == (1, 4)
    src.clear_cache()
    assert (src.cache_hits, src.cache_misses, len(src._cache)) == (0, 0, 0)
    nocache = DISFlow(preset='ultrafast')
    nocache(ref, supp)
    assert nocache.cache_misses == 0 and len(nocache._cache) == 0


def test_errors():
    with pytest.raises(ValueError, match='preset must be one of'):
        DISFlow(preset='slow')
    with pytest.raises(ValueError, match='cache_size'):
        DISFlow(cache_size=0)
    with pytest.raises(ValueError, match='>= 12 pixels'):
        DISFlow()(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match='same shape'):
        DISFlow()(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 20))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        DISFlow()(torch.rand(3, 16, 16), torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match='same size'):
        dis_flow_numpy(np.zeros((16, 16, 3)), np.zeros((16, 20, 3)))
