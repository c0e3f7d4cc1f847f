"""PCDAlignment's shared reference half of its first offset convs: the same function and gradients as convolving
the concatenation (share_reference=False), inside EDVR too."""
import pytest
import torch

import vidtoolbox.models  # noqa: F401
from vidtoolbox.registry import MODELS


def _randomise_offsets(module, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if 'conv_offset' in name:  # offsets of a few pixels instead of the zero init
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.2)


def _grads(module, outputs, inputs):
    params = [p for p in module.parameters() if p.requires_grad]
    loss = sum((o * torch.randn(o.shape, generator=torch.Generator().manual_seed(i), dtype=o.dtype)).sum()
               for i, o in enumerate(outputs))
    return torch.autograd.grad(loss, params + inputs)


def test_pcd_shared_reference_equals_the_concatenation_conv():
    torch.manual_seed(0)
    pcd = MODELS.build(dict(type='PCDAlignment', mid_channels=8, align_cfg=dict(type='DCNv2Align', deform_groups=2)))
    pcd = pcd.double()
    _randomise_offsets(pcd)
    g = torch.Generator().manual_seed(2)
    nbr = [torch.randn(2, 8, 16 >> l, 12 >> l, generator=g, dtype=torch.float64).requires_grad_() for l in range(3)]
    ref = [torch.randn(2, 8, 16 >> l, 12 >> l, generator=g, dtype=torch.float64).requires_grad_() for l in range(3)]
    results = {}
    for share in (False, True):
        pcd.share_reference = share
        terms = pcd.reference_terms(ref) if share else None
        out, recs = pcd(nbr, ref, ref_terms=terms)
        outputs = [out] + [r['offsets'] for r in recs] + [r['masks'] for r in recs]
        results[share] = (outputs, _grads(pcd, outputs, nbr + ref))
    assert results[False][0][1].abs().max() > 0.5  # offsets of some pixels: the comparison sees the alignment
    for a, b in zip(results[True][0] + list(results[True][1]), results[False][0] + list(results[False][1])):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    # without precomputed terms the shared path computes them itself
    pcd.share_reference = True
    torch.testing.assert_close(pcd(nbr, ref)[0], results[False][0][0], rtol=1e-10, atol=1e-10)


def test_edvr_with_shared_reference_matches_the_plain_pcd():
    dtype = torch.float64
    torch.manual_seed(0)
    net = MODELS.build(dict(type='EDVRNet', mid_channels=16, num_frames=5, deform_groups=2, num_extract_block=1,
                            num_reconstruct_block=1)).to(dtype)
    _randomise_offsets(net)
    x = torch.rand(2, 5, 3, 16, 16, generator=torch.Generator().manual_seed(3), dtype=dtype).requires_grad_()
    results = {}
    for share in (False, True):
        net.pcd_align.share_reference = share
        out, aux = net(x)
        outputs = [out] + [r['offsets'] for r in aux['alignments']]
        results[share] = (outputs, _grads(net, outputs, [x]))
    for a, b in zip(results[True][0] + list(results[True][1]), results[False][0] + list(results[False][1])):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_reference_terms_checks_the_levels():
    pcd = MODELS.build(dict(type='PCDAlignment', mid_channels=8, align_cfg=dict(type='DCNv2Align', deform_groups=2)))
    with pytest.raises(ValueError, match='expected 3 reference levels, got 2'):
        pcd.reference_terms([torch.zeros(1, 8, 4, 4)] * 2)
