"""CPUAutocastOptimWrapper: bfloat16 autocast on the CPU around the forward, float32 parameters and updates."""
import pytest
import torch
import torch.nn as nn

from vidtoolbox.engine.optim_wrapper import CPUAutocastOptimWrapper
from vidtoolbox.models.alignment import DCNv2Align


def test_forward_runs_in_bfloat16_and_updates_float32_parameters():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    x = torch.rand(2, 3, 8, 8)
    with wrapper.optim_context(net):
        y = net(x)
    assert y.dtype == torch.bfloat16
    ref = net.float()(x)
    assert (y.float() - ref).abs().max() < 0.05  # bfloat16 keeps ~3 significant digits
    before = net[0].weight.detach().clone()
    wrapper.update_params(((y.float() - 1) ** 2).mean())
    assert net[0].weight.dtype == torch.float32 and not torch.equal(before, net[0].weight)


def test_deformable_alignment_under_autocast_matches_float32():
    """The deformable op computes in float32 under autocast (its inputs mix bfloat16 and float32)."""
    torch.manual_seed(0)
    block = DCNv2Align(8, deform_groups=2)
    with torch.no_grad():
        block.conv_offset.weight.normal_(0, 0.1)
    ref_feat, nbr_feat = torch.rand(1, 8, 8, 8), torch.rand(1, 8, 8, 8)
    want, _ = block(ref_feat, nbr_feat)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        got, aux = block(ref_feat, nbr_feat)
    assert got.dtype == torch.float32 and aux['offsets'].dtype == torch.bfloat16
    assert (got - want).abs().max() < 0.05


def test_bad_dtype():
    with pytest.raises(ValueError, match='dtype must be one of'):
        CPUAutocastOptimWrapper(dtype='int8', optimizer=torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1))
