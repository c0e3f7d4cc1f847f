"""The alignment-block interface shared by every alignment plugin.

An alignment block aligns a neighbour feature map to a reference feature map::

    aligned, aux = block(ref_feat, nbr_feat, cond=None, **ctx)

Args:
    ref_feat: ``(B, C, H, W)`` reference features.
    nbr_feat: ``(B, C, H, W)`` neighbour features (to be aligned onto ``ref_feat``'s grid).
    cond: optional ``(B, cond_channels, H, W)`` features from which the block predicts its offsets.
        EDVR's PCD passes its cascaded offset features here; when ``None`` the block builds its own
        conditioning from ``cat(ref_feat, nbr_feat)``.
    **ctx: optional extras, e.g. ``ref_img`` / ``nbr_img`` ``(B, 3, H, W)`` in [0, 1] at this
        resolution (for blocks that estimate flow on images); blocks ignore what they do not use.

Returns:
    aligned: ``(B, out_channels, H, W)``.
    aux: dict with at least
        ``offsets``: ``(B, G*N*2, H, W)`` displacements in pixels of this resolution, channel index
        ``2*(g*N + n) + {0: dy, 1: dx}`` (group-major, then offset index, then (dy, dx)) — the layout
        of :func:`vidtoolbox.ops.deform_conv2d`; for a DCN these are the learned Δp (added to the
        kernel grid). An offset that aligns the neighbour onto the reference is ≈ ``flow(ref, nbr)``
        with channels swapped (see :mod:`vidtoolbox.ops.flow_warp`).
        ``masks``: ``(B, G*N, H, W)`` in [0, 1] when the block is modulated (absent otherwise).

Constructor keywords every block accepts (PCD / TDAN / FlowSR fill them in): ``in_channels``,
``out_channels``, ``cond_channels`` (defaults to ``2 * in_channels``, the width of ``cat(ref, nbr)``),
``deform_groups``.
"""
import torch.nn as nn


class BaseAlignment(nn.Module):
    """Base class of alignment blocks (see module docstring for the contract)."""

    #: number of offsets per group (N); blocks set it in ``__init__``
    num_offsets: int = 1
    #: number of offset groups (G)
    deform_groups: int = 1

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def check_inputs(name, ref_feat, nbr_feat, in_channels):
        """Raise a clear error when the two feature maps do not match each other or the block."""
        if ref_feat.dim() != 4 or nbr_feat.dim() != 4:
            raise ValueError(f'{name}: ref_feat and nbr_feat must be (B, C, H, W), got '
                             f'{tuple(ref_feat.shape)} and {tuple(nbr_feat.shape)}')
        if ref_feat.shape != nbr_feat.shape:
            raise ValueError(f'{name}: ref_feat {tuple(ref_feat.shape)} and nbr_feat '
                             f'{tuple(nbr_feat.shape)} must have the same shape')
        if ref_feat.shape[1] != in_channels:
            raise ValueError(f'{name}: expected {in_channels} input channels, got {ref_feat.shape[1]}')
