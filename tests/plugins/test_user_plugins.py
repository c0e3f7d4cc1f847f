"""The plugin promise: a user's own plugins (tests/data/plugins/user_plugins), registered under their own names and
chosen by config through custom_imports, behave exactly like the toolbox's own.

(a) ``MyDCN``, a subclass of ``DCNv2Align`` under a new name, computes exactly what ``DCNv2Align`` computes in EDVR,
TDAN and FlowSR (same seed → same weights → same output, same deformable groups); (b) ``ScratchFlowAlign``, written
from scratch on ``BaseAlignment``, is used according to the capabilities it declares; both train for 2 iterations
in every network with the user's loss (``GradientL1Loss``), the offset-fidelity loss reading their offsets against
the user's flow source (``PhaseCorrFlow``) and ``OffsetMonitorHook`` logging them.
"""
import os.path as osp
import sys
import uuid

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'tests', 'data', 'configs')
NETS = ('edvr', 'tdan', 'flow_sr')
TINY = dict(mid_channels=8, num_frames=5, num_extract_block=1, num_reconstruct_block=1)


@pytest.fixture(scope='module', autouse=True)
def plugins(helpers):
    """The user's package is importable (custom_imports does the import); registering it twice is harmless."""
    if helpers.PLUGINS not in sys.path:
        sys.path.append(helpers.PLUGINS)
    import user_plugins
    return user_plugins


def build_net(net, align_cfg, seed=0, **kw):
    from vidtoolbox.registry import MODELS
    cfg = dict(type={'edvr': 'EDVRNet', 'tdan': 'TDANNet', 'flow_sr': 'FlowSRNet'}[net], align_cfg=align_cfg,
               **TINY, **kw)
    if net != 'flow_sr':
        cfg.setdefault('deform_groups', 4)
    torch.manual_seed(seed)
    return MODELS.build(cfg).eval()


def blocks(net):
    from vidtoolbox.models.alignment import BaseAlignment
    return [m for m in net.modules() if isinstance(m, BaseAlignment)]


@pytest.mark.parametrize('net', NETS)
def test_subclass_under_a_new_name_equals_the_builtin(net):
    """Same seed: identical parameters, identical output and alignment records; the network's G (4) is filled in
    like for DCNv2Align, a G set in the block config (2) is kept."""
    x = torch.rand(1, 5, 3, 16, 16)
    for align_g in (None, 2):
        extra = {} if align_g is None else dict(deform_groups=align_g)
        ours = build_net(net, dict(type='DCNv2Align', **extra))
        theirs = build_net(net, dict(type='MyDCN', **extra))
        assert [type(b).__name__ for b in blocks(theirs)].count('MyDCN') == len(blocks(ours)) > 0
        want_g = align_g or (4 if net != 'flow_sr' else 8)  # FlowSR has no deform_groups: the block's default
        assert {b.deform_groups for b in blocks(theirs)} == {b.deform_groups for b in blocks(ours)} == {want_g}
        sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
        assert list(sd_ours) == list(sd_theirs)
        for k in sd_ours:
            assert torch.equal(sd_ours[k], sd_theirs[k]), k
        with torch.no_grad():
            torch.manual_seed(1)  # offsets away from zero so the deformable sampling is exercised
            for a, b in zip(blocks(ours), blocks(theirs)):
                w = torch.randn_like(a.conv_offset.weight) * 0.05
                a.conv_offset.weight.copy_(w)
                b.conv_offset.weight.copy_(w)
            out_a, aux_a = ours(x)
            out_b, aux_b = theirs(x)
        assert torch.equal(out_a, out_b)
        assert len(aux_a['alignments']) == len(aux_b['alignments'])
        for ra, rb in zip(aux_a['alignments'], aux_b['alignments']):
            assert torch.equal(ra['offsets'], rb['offsets'])
            assert {k: v for k, v in ra.items() if not torch.is_tensor(v)} == \
                {k: v for k, v in rb.items() if not torch.is_tensor(v)}
        assert sum(b.calls for b in blocks(theirs)) > 0


@pytest.mark.parametrize('net', NETS)
def test_block_from_scratch_is_used_by_what_it_declares(net):
    model = build_net(net, dict(type='ScratchFlowAlign'))
    used = [b for b in blocks(model) if type(b).__name__ == 'ScratchFlowAlign']
    if net == 'edvr':
        assert len(used) == 4  # 3 PCD levels + cascade: it warps features
    elif net == 'tdan':
        assert len(used) == 4  # declares cond_capable: also TDAN's 3 blocks on the offset features
    else:
        assert len(used) == 1
    want_g = 1 if net == 'flow_sr' else 4  # takes_deform_groups: the network's G is filled in
    assert {b.deform_groups for b in used} == {want_g}
    _, aux = model(torch.rand(2, 5, 3, 16, 16))
    recs = aux['alignments']
    assert recs and all(r['deform_groups'] == want_g and r['num_offsets'] == 1 for r in recs)
    assert all(r['offsets'].shape[1] == 2 * want_g for r in recs)


def test_capabilities_not_names_decide(plugins):
    """A user's block declaring other capabilities is treated accordingly: not cond_capable → TDAN conditions with
    DCNv2Align; image-level → EDVR gives it full-resolution frames and the level's encoder at every PCD level and
    refines with a feature-level cascade (DCNv2Align by default)."""
    from vidtoolbox.registry import MODELS

    name = f'ImageScratch_{uuid.uuid4().hex[:6]}'

    @MODELS.register_module(name=name)
    class ImageScratch(plugins.ScratchFlowAlign):
        cond_capable = False
        warp_level = 'image'
        needs_images = True

        def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
            enc = ctx['img_encoder']
            aligned, aux = super().forward(ref_feat, nbr_feat, cond, **ctx)
            return aligned + 0 * enc(ctx['nbr_img']), aux

    tdan = build_net('tdan', dict(type=name))
    kinds = [type(b).__name__ for b in blocks(tdan)]
    assert kinds.count('DCNv2Align') == 3 and kinds.count('ImageScratch') == 1
    edvr = build_net('edvr', dict(type=name))
    pcd = edvr.pcd_align
    assert {type(b).__name__ for b in pcd.blocks.values()} == {'ImageScratch'}
    assert type(pcd.cas_block).__name__ == 'DCNv2Align'
    seen = []
    for lvl, blk in pcd.blocks.items():
        blk.register_forward_hook(lambda m, args, kw, out, lvl=lvl: seen.append(
            (lvl, tuple(kw['nbr_img'].shape), tuple(kw['img_encoder'](kw['nbr_img']).shape))), with_kwargs=True)
    _, aux = edvr(torch.rand(1, 5, 3, 16, 16))
    assert {r['name'] for r in aux['alignments']} == {'pcd.l3', 'pcd.l2', 'pcd.l1', 'pcd.cascade'}
    c = edvr.conv_first.out_channels
    assert set(seen[:3]) == {('l3', (1, 3, 16, 16), (1, c, 4, 4)), ('l2', (1, 3, 16, 16), (1, c, 8, 8)),
                             ('l1', (1, 3, 16, 16), (1, c, 16, 16))}


def test_user_flow_source_estimates_a_known_shift(plugins):
    img = torch.rand(2, 3, 32, 32)
    shifted = torch.roll(img, shifts=(3, -5), dims=(2, 3))  # content moves 3 down, 5 left
    flow = plugins.PhaseCorrFlow().flow(img, shifted)  # src(p) = dst(p + d): d = (dx, dy) = (-5, 3)
    assert flow.shape == (2, 2, 32, 32)
    assert torch.all(flow[:, 0] == -5) and torch.all(flow[:, 1] == 3)


def test_user_flow_source_accepted_where_an_estimator_is_needed(plugins):
    from vidtoolbox.models.losses import CorrespondenceWiseLoss
    loss = CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=dict(type='PhaseCorrFlow'), epsilon=0.0)
    img = torch.rand(1, 3, 32, 32)
    shifted = torch.roll(img, shifts=(2, 2), dims=(2, 3))
    # integer shifts warp exactly (away from the reflected border): the correspondence-wise loss sees
    # (almost) no difference while the pixel-wise one does
    assert float(loss(pred=shifted, target=img)) < 0.25 * float((shifted - img).abs().mean())
    with pytest.raises(ValueError, match='cannot estimate flow'):
        CorrespondenceWiseLoss(base=dict(type='L1Loss'), flow=dict(type='GTFlow'))


@pytest.mark.parametrize('block', ['ScratchFlowAlign', 'MyDCN'])
@pytest.mark.parametrize('net', NETS)
def test_trains_with_user_loss_flow_source_and_monitor(tmp_path, net, block):
    """2 iterations through tools/train.py's runner: every user plugin is built from the config and logged."""
    from vidtoolbox.apis.runner import build_runner
    opts = {'model.generator.align_cfg.type': block, 'experiment_name': f'{net}_{block}_{uuid.uuid4().hex[:6]}'}
    runner = build_runner(osp.join(CONFIGS, f'user_plugins_{net}.py'), work_dir=str(tmp_path), cfg_options=opts)
    runner.train()
    hub = runner.message_hub
    for key in ('loss_pix', 'loss_grad', 'loss_ofl'):
        assert f'train/{key}' in hub.log_scalars, key
        assert torch.isfinite(torch.tensor(hub.get_scalar(f'train/{key}').current()))
    assert hub.get_scalar('train/loss_grad').current() > 0
    levels = {'edvr': ('pcd.l3', 'pcd.l2', 'pcd.l1', 'pcd.cascade'), 'tdan': ('tdan.align', 'tdan.cond1'),
              'flow_sr': ('flow_sr.align',)}[net]
    for lvl in levels:
        vals, _ = hub.get_scalar(f'train/offset/{lvl}/mean').data
        assert len(vals) == 2  # logged at both iterations (interval=1)
    gen = runner.model.generator
    assert any(type(b).__name__ == block for b in blocks(gen))
