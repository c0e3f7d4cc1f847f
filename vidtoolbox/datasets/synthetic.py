"""``SyntheticMotionDataset``: video clips with exact optical flow, rendered from real photographs.

Offline and licence-clean: the photographs are the ones bundled inside scikit-image's wheel
(``skimage.data``; CC0 / public domain). Each clip is a small layered scene:

* a **background** layer: a photo seen through a camera that translates, rotates and zooms smoothly;
* 1–3 **foreground objects**: patches of other photos with an ellipse or polygon alpha matte (hard,
  anti-aliased, or soft), each moving with its own smooth affine motion, stacked in a fixed z-order
  (later objects occlude earlier ones and the background).

Every layer ``k`` in frame ``t`` is rendered as ``frame(p) = texture_k(M_{k,t} p)`` where ``M_{k,t}`` is an
affine map from frame pixel coordinates to that layer's texture coordinates (pixel centres at integer
coordinates, the convention of ``cv2.warpAffine`` and of :func:`vidtoolbox.ops.flow_warp`), bilinear. The
flow is therefore analytic: a pixel ``p`` of frame ``a`` whose topmost layer is ``k`` is found in frame ``b``
at ``q = M_{k,b}⁻¹ M_{k,a} p``, so ``flow(a, b)(p) = q − p`` exactly (``docs/conventions.md``:
``a(p) ≈ b(p + flow(a, b)(p))``). The pixel is *occluded* (``occ = 1``) when ``q`` leaves the frame or the
topmost layer at ``round(q)`` in frame ``b`` is not ``k``. The topmost layer at a pixel is the last layer whose
alpha there is >= 0.5; the 1–2 px wide anti-aliased/soft rims of objects mix two layers, so there the
colour matches the flow only approximately.

LR frames are the MATLAB-bicubic ×``scale`` downscale (:func:`vidtoolbox.ops.imresize`, the "BI" degradation)
of the GT frames, clipped to [0, 1].

Train and val use **disjoint** photographs (:data:`TRAIN_PHOTOS`, :data:`VAL_PHOTOS`; the stereo pair
``motorcycle_left``/``motorcycle_right`` shows one scene and stays within one split, and ``cat`` is the same
image as ``chelsea`` so only ``chelsea`` is used). The val photos are textured natural images (fur, gravel, a
café scene, coins, a street sign): almost no flat or black area, which would inflate PSNR and make every method
look alike; the mostly flat ones (``moon``, ``retina``, ``clock``) are training photos. Every photo ships inside
scikit-image's wheel (no download).

Motion: each layer's per-frame displacement is drawn in ``[min_translation, max_translation]`` GT pixels (then
accelerated or decelerated along the clip, every step at most ``max_translation``). The defaults (0–4 GT px) move
the scene about 2 GT px (0.5 LR px at ×4) per frame on average — far less than REDS, for which PCD alignment was
designed (several to tens of LR pixels); ``configs/_base_/datasets/builtin_x4_large_motion.py`` is the
large-motion setting of the alignment experiments (``docs/experiments.md`` shows both flow-magnitude histograms).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from vidtoolbox.ops.imresize import imresize
from vidtoolbox.registry import DATASETS
from .base import BaseVideoDataset

__all__ = ['SyntheticMotionDataset', 'TRAIN_PHOTOS', 'VAL_PHOTOS', 'load_photo', 'render_clip', 'render_frame']

#: photographs of the training split (names of ``skimage.data`` items; grey ones are used as RGB)
TRAIN_PHOTOS = ('astronaut', 'rocket', 'motorcycle_left', 'motorcycle_right', 'immunohistochemistry',
                'hubble_deep_field', 'camera', 'brick', 'grass', 'page', 'moon', 'retina', 'clock')
#: photographs of the held-out (val) split, disjoint from :data:`TRAIN_PHOTOS`: textured natural images only
VAL_PHOTOS = ('chelsea', 'gravel', 'coffee', 'coins', 'text')

_SPLITS = {'train': TRAIN_PHOTOS, 'val': VAL_PHOTOS}
_PHOTO_CACHE: Dict[str, np.ndarray] = {}
_MOTIONS = ('smooth', 'constant_velocity')
_MARGIN = 3  # texture pixels kept around the region a clip can see (bilinear support + rounding)


def load_photo(name: str) -> np.ndarray:
    """One bundled scikit-image photograph as an ``(H, W, 3)`` uint8 RGB array (cached per process).

    Raises:
        ValueError: ``name`` is not one of :data:`TRAIN_PHOTOS` + :data:`VAL_PHOTOS`.
    """
    if name not in TRAIN_PHOTOS + VAL_PHOTOS:
        raise ValueError(f'load_photo: unknown photo {name!r}; expected one of {TRAIN_PHOTOS + VAL_PHOTOS}')
    img = _PHOTO_CACHE.get(name)
    if img is None:
        import skimage.data  # imported lazily: only the synthetic dataset needs it
        if name.startswith('motorcycle_'):
            left, right, _ = skimage.data.stereo_motorcycle()
            img = left if name == 'motorcycle_left' else right
        else:
            img = getattr(skimage.data, name)()
        img = np.asarray(img)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
        _PHOTO_CACHE[name] = img
    return img


# ----------------------------------------------------------------------------------------------- geometry
def _affine(theta: float, zoom: float, src_c: Tuple[float, float], dst_c: np.ndarray) -> np.ndarray:
    """3x3 matrix of ``p ↦ dst_c + zoom · R(theta) · (p − src_c)``."""
    c, s = math.cos(theta), math.sin(theta)
    m = np.eye(3)
    m[:2, :2] = zoom * np.array([[c, -s], [s, c]])
    m[:2, 2] = np.asarray(dst_c, dtype=np.float64) - m[:2, :2] @ np.asarray(src_c, dtype=np.float64)
    return m


def _smooth_track(rng: np.random.Generator, taus: np.ndarray, max_step: float, dim: int,
                  accelerate: bool = True, min_speed: float = 0.0) -> np.ndarray:
    """Quadratic trajectory ``v·τ + a·τ²/2`` (``(T, dim)``, zero at τ = 0) with ``|v|`` uniform in
    ``[min_speed, max_step]`` and every step ``|x(τ+1) − x(τ)|`` at most ``max_step`` (rescaled when the draw exceeds
    it). ``accelerate=False`` sets ``a = 0`` (a linear, constant-velocity track) after drawing it, so the generator
    advances exactly as with acceleration (and ``min_speed=0`` draws exactly what older versions drew)."""
    if max_step <= 0 or len(taus) < 2:
        return np.zeros((len(taus), dim))
    direction = rng.normal(size=dim)
    direction /= max(np.linalg.norm(direction), 1e-12)
    vel = direction * rng.uniform(min(min_speed, max_step), max_step)
    acc = rng.normal(size=dim) * (0.5 * max_step / max(1.0, (len(taus) - 1) / 2.0))
    if not accelerate:
        acc = acc * 0.0
    track = vel[None] * taus[:, None] + 0.5 * acc[None] * (taus ** 2)[:, None]
    steps = np.linalg.norm(np.diff(track, axis=0), axis=1).max()
    if steps > max_step:
        track *= max_step / steps
    return track


def _cut_texture(rng: np.random.Generator, photo: np.ndarray, size_hw: Tuple[int, int],
                 photo_scale: Tuple[float, float]) -> np.ndarray:
    """A random ``size_hw`` float32 [0, 1] texture: a photo crop area-downscaled by a factor from ``photo_scale``
    (limited so that the crop fits the photo; a photo too small is upscaled bicubically)."""
    th, tw = size_hw
    ph, pw = photo.shape[:2]
    fit = min(ph / th, pw / tw)
    hi = min(photo_scale[1], fit)
    lo = min(photo_scale[0], hi)
    f = rng.uniform(lo, hi)
    ch, cw = min(ph, max(1, int(round(th * f)))), min(pw, max(1, int(round(tw * f))))
    y0 = int(rng.integers(0, ph - ch + 1))
    x0 = int(rng.integers(0, pw - cw + 1))
    crop = photo[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if f >= 1 else cv2.INTER_CUBIC
    tex = cv2.resize(np.ascontiguousarray(crop), (tw, th), interpolation=interp)
    return tex.astype(np.float32) * np.float32(1.0 / 255.0)


def _alpha_matte(rng: np.random.Generator, size_hw: Tuple[int, int], pad: int) -> np.ndarray:
    """``(h + 2·pad, w + 2·pad)`` float32 alpha in [0, 1]: an ellipse or a star-convex polygon filling the inner
    ``h × w`` box, anti-aliased (hard) or Gaussian-blurred (soft); zero on the ``pad`` border."""
    h, w = size_hw
    H, W = h + 2 * pad, w + 2 * pad
    sub = 8  # sub-pixel bits for anti-aliased rasterisation (cv2 shift)
    cx, cy = (W - 1) / 2.0, (H - 1) / 2.0
    if rng.random() < 0.5:
        n = int(rng.integers(5, 10))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = rng.uniform(0.55, 1.0, n)
        pts = np.stack([cx + rad * np.cos(ang) * (w - 1) / 2.0, cy + rad * np.sin(ang) * (h - 1) / 2.0], 1)
    else:
        ang = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        pts = np.stack([cx + np.cos(ang) * (w - 1) / 2.0, cy + np.sin(ang) * (h - 1) / 2.0], 1)
    canvas = np.zeros((H, W), np.uint8)
    cv2.fillPoly(canvas, [np.round(pts * (1 << sub)).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=sub)
    alpha = canvas.astype(np.float32) / 255.0
    if rng.random() < 0.5:
        sigma = rng.uniform(0.5, 1.5)
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
    return alpha


def _warp(src: np.ndarray, m: np.ndarray, size_hw: Tuple[int, int], border: int) -> np.ndarray:
    """``out(p) = src(m p)`` (bilinear) on a ``size_hw`` grid; ``m`` is 3x3 frame → texture."""
    return cv2.warpAffine(src, m[:2].astype(np.float64), (size_hw[1], size_hw[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border, borderValue=0)


def render_frame(scene: dict, t: int, size_hw: Tuple[int, int], pre: Optional[np.ndarray] = None):
    """Composite frame ``t`` of a scene (as returned in ``render_clip(...)['scene']``).

    Args:
        scene: ``dict(textures=[K+1 float32 (h, w, 3)], alphas=[None, K float32 (h, w)], maps=[K+1 lists of T
            3x3 frame → texture matrices])``, background first.
        t: frame index.
        size_hw: output ``(H, W)``.
        pre: optional 3x3 matrix applied to the frame coordinates first (``out(p) = frame_t(pre p)``), e.g. a
            sub-pixel shift; None = identity.

    Returns:
        ``(image (H, W, 3) float32 [0, 1], topmost layer (H, W) int8, mixed (H, W) bool)``.
    """
    pre = np.eye(3) if pre is None else np.asarray(pre, dtype=np.float64)
    maps = scene['maps']
    img = _warp(scene['textures'][0], maps[0][t] @ pre, size_hw, cv2.BORDER_REFLECT_101)
    top = np.zeros(size_hw, np.int8)
    mix = np.zeros(size_hw, bool)
    H, W = size_hw
    for k in range(1, len(maps)):
        m = maps[k][t] @ pre
        # render the object only inside the frame box its texture can reach (its alpha is 0 elsewhere)
        th, tw = scene['alphas'][k].shape
        corners = np.linalg.solve(m, np.array([[0, tw - 1, 0, tw - 1], [0, 0, th - 1, th - 1], [1, 1, 1, 1.0]]))
        x0, y0 = (int(max(0, math.floor(v) - 1)) for v in corners[:2].min(axis=1))
        x1, y1 = int(min(W, math.ceil(corners[0].max()) + 2)), int(min(H, math.ceil(corners[1].max()) + 2))
        if x0 >= x1 or y0 >= y1:
            continue
        roi = m @ np.array([[1.0, 0, x0], [0, 1, y0], [0, 0, 1]])
        a = _warp(scene['alphas'][k], roi, (y1 - y0, x1 - x0), cv2.BORDER_CONSTANT)
        o = _warp(scene['textures'][k], roi, (y1 - y0, x1 - x0), cv2.BORDER_REFLECT_101)
        sub = img[y0:y1, x0:x1]
        sub += a[..., None] * (o - sub)
        top[y0:y1, x0:x1][a >= 0.5] = k
        mix[y0:y1, x0:x1] |= (a > 1e-3) & (a < 1 - 1e-3)
    return np.clip(img, 0.0, 1.0).astype(np.float32), top, mix


def render_clip(rng: np.random.Generator, photos: Sequence[str], num_frames: int, gt_size: Tuple[int, int],
                max_translation: float, max_rotation: float, max_zoom: float, num_objects: int,
                photo_scale: Tuple[float, float] = (1.0, 2.5), motion: str = 'smooth',
                min_translation: float = 0.0) -> dict:
    """Render one layered clip with exact flows (all randomness from ``rng``).

    Args:
        rng: numpy Generator (the only source of randomness).
        photos: names of the photos to draw from (background and object textures).
        num_frames: T >= 1; the reference frame is ``T // 2``.
        gt_size: ``(H, W)`` of the frames.
        max_translation: max per-frame displacement of each layer's track (pixels).
        min_translation: min initial per-frame speed of each layer's track (pixels, <= ``max_translation``).
        max_rotation: max per-frame rotation of each layer (degrees).
        max_zoom: max per-frame relative zoom change of each layer (0.05 = 5 %).
        num_objects: number of foreground objects (>= 0).
        photo_scale: range of photo pixels per texture pixel (area downscale of the photo crop).
        motion: ``'smooth'`` (default): every layer parameter (translation, angle, log-zoom) follows a quadratic
            track with a random acceleration of the order of the velocity; ``'constant_velocity'``: the same
            random draws with the accelerations set to 0, and the camera composed from one fixed frame-to-frame
            affine step (``M_t = M_ref · D^(t−ref)``), so the background flow ``flow(t, t+1)`` is the same field
            for every ``t`` and each object moves as a rigid body with constant translation velocity, angular
            velocity and zoom rate (its flow is constant in the object's own coordinates; equal at the same
            pixel across frames when it only translates).

    Returns:
        dict with ``frames`` (T × ``(H, W, 3)`` float32 [0, 1]), ``flow_fw``/``flow_bw`` (T−1 × ``(H, W, 2)``
        float32), ``occ_fw``/``occ_bw`` (T−1 × ``(H, W, 1)`` float32 {0, 1}), ``ref_flows`` (T × ``(H, W, 2)``),
        ``layers`` (T × ``(H, W)`` int8, topmost layer index, 0 = background), ``mixed`` (T × ``(H, W)`` bool,
        True on object rims where some alpha is strictly between 0 and 1, i.e. two layers blend), ``photos``
        (list of the photo names used, background first) and ``scene`` (``textures``, ``alphas``, ``maps``: the
        input of :func:`render_frame`).

    The arguments are not validated here; :class:`SyntheticMotionDataset` checks them.
    """
    H, W = gt_size
    T = num_frames
    ref = T // 2
    taus = np.arange(T, dtype=np.float64) - ref
    frame_c = ((W - 1) / 2.0, (H - 1) / 2.0)
    max_rot = math.radians(max_rotation)
    max_logz = math.log1p(max_zoom)

    # background photo first, then one photo per object, all different while the split has enough of them
    order = [int(i) for i in rng.permutation(len(photos))]
    others = order[1:] or order
    names = [photos[order[0]]] + [photos[others[i % len(others)]] for i in range(num_objects)]

    # --- background: camera maps frame → texture, p ↦ centre + d(τ) + z R(θ) (p − frame_c)
    acc = motion != 'constant_velocity'
    shift = _smooth_track(rng, taus, max_translation, 2, acc, min_translation)
    theta = _smooth_track(rng, taus, max_rot, 1, acc)[:, 0]
    logz = _smooth_track(rng, taus, max_logz, 1, acc)[:, 0]
    cams = [_affine(theta[t], math.exp(logz[t]), frame_c, shift[t]) for t in range(T)]
    if not acc and T >= 2:
        # one fixed frame-space step D = M_ref⁻¹ M_ref+1: flow(t, t+1)(p) = D⁻¹ p − p for every t
        step = np.linalg.inv(cams[ref]) @ cams[ref + 1] if ref + 1 < T else np.linalg.inv(cams[ref - 1]) @ cams[ref]
        cams = [cams[ref] @ np.linalg.matrix_power(step, int(tau)) for tau in taus]
    corners = np.array([[0, 0, 1], [W - 1, 0, 1], [0, H - 1, 1], [W - 1, H - 1, 1]], dtype=np.float64).T
    pts = np.concatenate([(m @ corners)[:2] for m in cams], axis=1)
    lo = np.floor(pts.min(axis=1)) - _MARGIN
    hi = np.ceil(pts.max(axis=1)) + _MARGIN
    tex_w, tex_h = int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1
    to_tex = np.eye(3)
    to_tex[:2, 2] = -lo
    maps = [[to_tex @ m for m in cams]]
    textures = [_cut_texture(rng, load_photo(names[0]), (tex_h, tex_w), photo_scale)]
    alphas = [None]

    # --- objects: p ↦ tex_centre + (1/z) R(−φ) (p − pos(τ))
    for k in range(num_objects):
        side = rng.uniform(0.2, 0.5) * min(H, W)
        aspect = math.exp(rng.uniform(-0.4, 0.4))
        oh, ow = max(4, int(round(side / math.sqrt(aspect)))), max(4, int(round(side * math.sqrt(aspect))))
        pad = 4
        alpha = _alpha_matte(rng, (oh, ow), pad)
        tex = _cut_texture(rng, load_photo(names[1 + k]), alpha.shape, photo_scale)
        pos0 = np.array([rng.uniform(0.15, 0.85) * (W - 1), rng.uniform(0.15, 0.85) * (H - 1)])
        track = pos0[None] + _smooth_track(rng, taus, max_translation, 2, acc, min_translation)
        phi0 = rng.uniform(-np.pi, np.pi)
        phi = phi0 + _smooth_track(rng, taus, max_rot, 1, acc)[:, 0]
        logs = rng.uniform(-0.2, 0.2) + _smooth_track(rng, taus, max_logz, 1, acc)[:, 0]
        tex_c = ((alpha.shape[1] - 1) / 2.0, (alpha.shape[0] - 1) / 2.0)
        maps.append([_affine(-phi[t], math.exp(-logs[t]), track[t], tex_c) for t in range(T)])
        textures.append(tex)
        alphas.append(alpha)

    # --- render frames and topmost-layer maps
    scene = dict(textures=textures, alphas=alphas, maps=maps)
    frames, layers, mixed = [], [], []
    for t in range(T):
        img, top, mix = render_frame(scene, t, (H, W))
        frames.append(img)
        layers.append(top)
        mixed.append(mix)

    # --- analytic flows and occlusions
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    inv_maps = [[np.linalg.inv(m) for m in per_layer] for per_layer in maps]

    def flow(a: int, b: int) -> np.ndarray:
        # per layer, flow(p) = (M_b⁻¹ M_a − I) p: evaluate the background's affine flow everywhere, then
        # overwrite the pixels whose topmost layer is an object with that object's affine flow
        out = np.empty((H, W, 2), np.float32)
        lay = layers[a]
        for k in range(len(maps)):
            c = (inv_maps[k][b] @ maps[k][a] - np.eye(3))[:2]
            if k == 0:
                out[..., 0] = c[0, 0] * xs + c[0, 1] * ys + c[0, 2]
                out[..., 1] = c[1, 0] * xs + c[1, 1] * ys + c[1, 2]
            else:
                iy, ix = np.nonzero(lay == k)
                if iy.size:
                    out[iy, ix, 0] = c[0, 0] * ix + c[0, 1] * iy + c[0, 2]
                    out[iy, ix, 1] = c[1, 0] * ix + c[1, 1] * iy + c[1, 2]
        return out

    def occlusion(a: int, b: int, f: np.ndarray) -> np.ndarray:
        qx, qy = xs + f[..., 0], ys + f[..., 1]
        inside = (qx >= 0) & (qx <= W - 1) & (qy >= 0) & (qy <= H - 1)
        qxi = np.clip(np.rint(qx), 0, W - 1).astype(np.intp)
        qyi = np.clip(np.rint(qy), 0, H - 1).astype(np.intp)
        same = layers[b][qyi, qxi] == layers[a]
        return (~(inside & same)).astype(np.float32)[..., None]

    flow_fw, flow_bw, occ_fw, occ_bw = [], [], [], []
    for t in range(T - 1):
        ffw, fbw = flow(t, t + 1), flow(t + 1, t)
        flow_fw.append(ffw)
        flow_bw.append(fbw)
        occ_fw.append(occlusion(t, t + 1, ffw))
        occ_bw.append(occlusion(t + 1, t, fbw))
    ref_flows = [np.zeros((H, W, 2), np.float32) if t == ref else flow(ref, t)
                 for t in range(T)]
    return dict(frames=frames, flow_fw=flow_fw, flow_bw=flow_bw, occ_fw=occ_fw, occ_bw=occ_bw,
                ref_flows=ref_flows, layers=layers, mixed=mixed, photos=names, scene=scene)


# ----------------------------------------------------------------------------------------------- dataset
def _num_range(v, name: str, minimum: float = 0.0) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < minimum:
        raise ValueError(f'SyntheticMotionDataset: {name} must be a finite number >= {minimum}, got {v!r}')
    return float(v)


@DATASETS.register_module()
class SyntheticMotionDataset(BaseVideoDataset):
    """Built-in, offline video dataset with exact ground-truth flow (see the module docstring for the scene model).

    Each sample ``i`` is rendered on the fly, deterministically from ``(seed, split, i)`` (the same index gives
    the same clip in any worker, epoch or order; augmentations in ``pipeline`` use the global numpy RNG as
    usual). :meth:`get_data_info` returns the results dict of ``docs/conventions.md``:

    * ``lq``: T × ``(H/scale, W/scale, 3)`` float32 [0, 1] — MATLAB bicubic (BI) downscale of the GT frames,
      clipped to [0, 1];
    * ``gt``: ``gt_mode='center'``: ``[frame[ref_index]]``; ``'all'``: all T GT frames; ``(H, W, 3)`` float32
      [0, 1];
    * ``flow_fw``/``flow_bw``: T−1 × ``(H, W, 2)`` float32, ``flow(t, t+1)`` / ``flow(t+1, t)`` in GT pixels,
      channels (dx, dy);
    * ``occ_fw``/``occ_bw``: T−1 × ``(H, W, 1)`` float32 {0, 1};
    * ``ref_flows``: T × ``(H, W, 2)`` ``flow(ref_index, t)``;
    * ``ref_index`` (= T // 2), ``scale``, ``key`` (``'synthetic_<split>_<index:06d>'``), ``clip_index``,
      ``photos`` (photo names used).

    Args:
        num_clips: number of samples (dataset length), >= 1.
        num_frames: T, frames per clip (>= 1; flows need >= 2).
        gt_size: GT frame size, int or ``(H, W)``; both divisible by ``scale``.
        scale: LR downscale factor (int >= 1).
        split: ``'train'`` (:data:`TRAIN_PHOTOS`) or ``'val'`` (:data:`VAL_PHOTOS`, disjoint).
        seed: base seed.
        max_translation: max per-frame displacement of the camera and of each object, in GT pixels.
        min_translation: min initial per-frame speed of the camera and of each object, in GT pixels
            (``<= max_translation``; default 0). The speed is drawn uniformly in ``[min, max]``; accelerations
            then change it along the clip.
        max_rotation: max per-frame rotation of the camera and of each object, in degrees.
        max_zoom: max per-frame relative zoom change (e.g. 0.02 = 2 %), in [0, 0.5].
        num_objects: number of foreground objects: int, or ``(min, max)`` inclusive, drawn per clip.
        gt_mode: ``'center'`` (SR: only the reference frame is a target) or ``'all'`` (every frame; heads for
            prediction/interpolation slice what they need).
        photo_scale: ``(lo, hi)`` photo pixels per GT pixel; textures are area-downscaled photo crops, so
            larger values give denser detail.
        motion: ``'smooth'`` (default; random accelerations about the size of the velocity) or
            ``'constant_velocity'`` (no acceleration: the background flow between consecutive frames is the same
            field, objects move rigidly at constant velocity; the same photos and velocity draws as ``'smooth'``
            for the same seed), see :func:`render_clip`. For prediction benchmarks whose baselines
            assume constant velocity.
        photos: optional subset (at least 2 names) of the split's photos to render from, e.g. the textured ones
            only; names outside the split are refused, so train and val stay disjoint.
        pipeline: transforms (configs or callables) applied to the results dict; empty → raw dict.
        **kwargs: other :class:`~vidtoolbox.datasets.base.BaseVideoDataset` / MMEngine ``BaseDataset``
            arguments (``lazy_init``, ``test_mode``, ``indices``, ...).

    Raises:
        ValueError: any argument out of range (the message names it and the expected values).
    """

    def __init__(self,
                 num_clips: int = 1000,
                 num_frames: int = 5,
                 gt_size: Union[int, Sequence[int]] = 128,
                 scale: int = 4,
                 split: str = 'train',
                 seed: int = 0,
                 max_translation: float = 4.0,
                 min_translation: float = 0.0,
                 max_rotation: float = 1.0,
                 max_zoom: float = 0.02,
                 num_objects: Union[int, Sequence[int]] = (1, 3),
                 gt_mode: str = 'center',
                 photo_scale: Sequence[float] = (1.0, 2.5),
                 motion: str = 'smooth',
                 photos: Optional[Sequence[str]] = None,
                 pipeline: Sequence = (),
                 **kwargs):
        who = 'SyntheticMotionDataset'
        if isinstance(num_clips, bool) or not isinstance(num_clips, int) or num_clips < 1:
            raise ValueError(f'{who}: num_clips must be an int >= 1, got {num_clips!r}')
        if split not in _SPLITS:
            raise ValueError(f'{who}: split must be one of {tuple(_SPLITS)}, got {split!r}')
        if motion not in _MOTIONS:
            raise ValueError(f'{who}: motion must be one of {_MOTIONS}, got {motion!r}')
        if gt_mode not in ('center', 'all'):
            raise ValueError(f"{who}: gt_mode must be 'center' or 'all', got {gt_mode!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f'{who}: seed must be an int >= 0, got {seed!r}')
        if isinstance(gt_size, (int, np.integer)) and not isinstance(gt_size, bool):
            gt_size = (int(gt_size), int(gt_size))
        if (not isinstance(gt_size, Sequence) or len(gt_size) != 2
                or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 8
                           for v in gt_size)):
            raise ValueError(f'{who}: gt_size must be an int or (H, W) of ints >= 8, got {gt_size!r}')
        if isinstance(scale, int) and not isinstance(scale, bool) and scale >= 1 and (
                gt_size[0] % scale or gt_size[1] % scale):
            raise ValueError(f'{who}: gt_size {gt_size[0]}x{gt_size[1]} must be divisible by scale {scale}')
        if isinstance(num_objects, (int, np.integer)) and not isinstance(num_objects, bool):
            num_objects = (int(num_objects), int(num_objects))
        if (not isinstance(num_objects, Sequence) or len(num_objects) != 2
                or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in num_objects)
                or not 0 <= num_objects[0] <= num_objects[1] <= 8):
            raise ValueError(f'{who}: num_objects must be an int or (min, max) with 0 <= min <= max <= 8, '
                             f'got {num_objects!r}')
        if (not isinstance(photo_scale, Sequence) or len(photo_scale) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in photo_scale)
                or not 0 < photo_scale[0] <= photo_scale[1]):
            raise ValueError(f'{who}: photo_scale must be (lo, hi) with 0 < lo <= hi, got {photo_scale!r}')
        self.num_clips = num_clips
        self.gt_size = (int(gt_size[0]), int(gt_size[1]))
        self.split = split
        self.photos = _SPLITS[split]
        if photos is not None:  # a subset of the split's photos (train and val stay disjoint)
            bad = [p for p in photos if p not in _SPLITS[split]] if not isinstance(photos, str) else [photos]
            if bad or len(photos) < 2:
                raise ValueError(f'{who}: photos must be at least 2 names of the {split!r} split {_SPLITS[split]}, '
                                 f'got {photos!r}')
            self.photos = tuple(photos)
        self.seed = int(seed)
        self.max_translation = _num_range(max_translation, 'max_translation')
        self.min_translation = _num_range(min_translation, 'min_translation')
        if self.min_translation > self.max_translation:
            raise ValueError(f'{who}: min_translation ({min_translation!r}) must be <= max_translation '
                             f'({max_translation!r})')
        self.max_rotation = _num_range(max_rotation, 'max_rotation')
        self.max_zoom = _num_range(max_zoom, 'max_zoom')
        if self.max_zoom > 0.5:
            raise ValueError(f'{who}: max_zoom must be in [0, 0.5], got {max_zoom!r}')
        self.num_objects = (int(num_objects[0]), int(num_objects[1]))
        self.gt_mode = gt_mode
        self.motion = motion
        self.photo_scale = (float(photo_scale[0]), float(photo_scale[1]))
        super().__init__(num_frames=num_frames, scale=scale, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One light dict per clip: ``key`` and ``clip_index`` (pixels are rendered in :meth:`get_data_info`)."""
        return [dict(key=f'synthetic_{self.split}_{i:06d}', clip_index=i) for i in range(self.num_clips)]

    def clip_rng(self, clip_index: int) -> np.random.Generator:
        """The generator of clip ``clip_index``: a function of ``(seed, split, clip_index)`` only."""
        split_id = tuple(_SPLITS).index(self.split)
        return np.random.default_rng(np.random.SeedSequence([self.seed, split_id, int(clip_index)]))

    def render(self, clip_index: int) -> dict:
        """Render clip ``clip_index`` into the results-dict fields (see the class docstring)."""
        rng = self.clip_rng(clip_index)
        n_obj = int(rng.integers(self.num_objects[0], self.num_objects[1] + 1))
        clip = render_clip(rng, self.photos, self.num_frames, self.gt_size, self.max_translation,
                           self.max_rotation, self.max_zoom, n_obj, self.photo_scale, self.motion,
                           self.min_translation)
        frames = clip.pop('frames')
        clip.pop('layers')
        clip.pop('mixed')
        clip.pop('scene')
        stacked = np.concatenate(frames, axis=2)  # (H, W, 3T): one resize for all frames
        lq = np.clip(imresize(stacked, scale=1.0 / self.scale), 0.0, 1.0)
        clip['lq'] = [np.ascontiguousarray(lq[..., 3 * t:3 * t + 3]) for t in range(self.num_frames)]
        clip['gt'] = [frames[self.ref_index]] if self.gt_mode == 'center' else frames
        clip['ref_index'] = self.ref_index
        clip['scale'] = self.scale
        return clip

    def get_data_info(self, idx: int) -> dict:
        """The light info of sample ``idx`` plus its rendered clip (the results dict before the pipeline)."""
        info = super().get_data_info(idx)
        info.update(self.render(info['clip_index']))
        return info
