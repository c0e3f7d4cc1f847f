"""The alignment-block interface shared by every alignment plugin, the capabilities a block declares, and the
alignment record the networks report.

An alignment block aligns a neighbour feature map to a reference feature map::

    aligned, aux = block(ref_feat, nbr_feat, cond=None, **ctx)

Args:
    ref_feat: ``(B, C, H, W)`` reference features.
    nbr_feat: ``(B, C, H, W)`` neighbour features (to be aligned onto ``ref_feat``'s grid).
    cond: optional ``(B, cond_channels, H, W)`` features from which the block predicts its offsets.
        EDVR's PCD passes its cascaded offset features here; when ``None`` the block builds its own
        conditioning from ``cat(ref_feat, nbr_feat)``.
    **ctx: optional extras; blocks ignore what they do not use. The networks pass
        ``ref_img`` / ``nbr_img`` ``(B, 3, H, W)`` in [0, 1] at this resolution (for blocks that estimate flow
        on images or warp images), ``img_encoder`` (the network's own feature extractor, a callable
        ``(B, 3, H, W) → (B, out_channels, H, W)``, for blocks that warp images), and ``flow`` ``(B, 2, H, W)``
        ``flow(ref, nbr)`` in pixels of this resolution, channels (dx, dy), when the network knows it (blocks
        that declare ``needs_flow``; EDVR/TDAN compute it with their ``flow_cfg`` source, see
        :func:`build_network_flow_source`). A block aligning F neighbours at once (``FlowGuidedDCNAlign(num_flows=F)``)
        takes ``nbr_feat`` ``(B, F·C, H, W)`` and ``flow`` ``(B, 2·F, H, W)``.

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

Capabilities (:class:`AlignCaps`). The networks decide how to use a block by reading what it declares — never by
its type name — so a user's block registered under any name is treated exactly like a built-in one. A block
declares them as class attributes of :class:`BaseAlignment` (defaults below); a block whose capabilities depend on
its arguments (e.g. ``FlowWarpAlign(level='image')``) overrides :meth:`BaseAlignment.capabilities`, which reads
the block's config before the block is built. :func:`alignment_caps` resolves a config's class through the
registry and asks it.
"""
from typing import NamedTuple, Optional

import torch.nn as nn

__all__ = ['BaseAlignment', 'AlignCaps', 'alignment_caps', 'alignment_record', 'resolve_block_class',
           'fill_alignment_cfg', 'build_network_flow_source']

_WARP_LEVELS = ('feature', 'image')


class AlignCaps(NamedTuple):
    """What a container needs to know about an alignment block before building and calling it.

    Attributes:
        takes_deform_groups: the block has a ``deform_groups`` argument that the network's own ``deform_groups``
            fills in when the block config does not set it (DCN-like blocks).
        warp_level: ``'feature'`` — the block resamples the neighbour *features*; ``'image'`` — it resamples the
            neighbour *image* (ctx ``nbr_img``) and encodes the result with ctx ``img_encoder``, so a network gives
            it the LR frames and its feature extractor.
        needs_images: the block reads ctx ``ref_img`` / ``nbr_img`` (estimates flow on images or warps them).
        cond_capable: the block can run on offset features alone — ``block(cond, cond, cond=cond)`` with no
            images and no flow (TDAN's deformable convs on its offset features).
        needs_flow: the block needs ctx ``flow`` (``flow(ref, nbr)``, (dx, dy), pixels of its resolution) unless it
            was given a flow source of its own; a network that knows the flow passes it.
        reads_cond: the block predicts from ``cond`` when given (else it ignores it).
    """
    takes_deform_groups: bool
    warp_level: str
    needs_images: bool
    cond_capable: bool
    needs_flow: bool
    reads_cond: bool


class BaseAlignment(nn.Module):
    """Base class of alignment blocks (see the module docstring for the contract and the capabilities)."""

    #: number of offsets per group (N); blocks set it in ``__init__``
    num_offsets: int = 1
    #: number of offset groups (G)
    deform_groups: int = 1

    # -- capabilities (class-level declarations; see AlignCaps) --------------------------------------------
    takes_deform_groups: bool = False
    warp_level: str = 'feature'
    needs_images: bool = False
    cond_capable: bool = True
    needs_flow: bool = False
    reads_cond: bool = True

    @classmethod
    def capabilities(cls, cfg: Optional[dict] = None) -> AlignCaps:
        """The capabilities of a block of this class built from ``cfg`` (its keyword arguments).

        The default returns the class attributes; blocks whose capabilities depend on their arguments override it
        (and their instances expose the resolved values as attributes of the same names).
        """
        caps = AlignCaps(**{f: getattr(cls, f) for f in AlignCaps._fields})
        if caps.warp_level not in _WARP_LEVELS:
            raise ValueError(f'{cls.__name__}: warp_level must be one of {_WARP_LEVELS}, got {caps.warp_level!r}')
        return caps

    @property
    def caps(self) -> AlignCaps:
        """The capabilities of this instance (its attributes of the :class:`AlignCaps` names)."""
        return AlignCaps(**{f: getattr(self, f) for f in AlignCaps._fields})

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


def resolve_block_class(cfg, who: str = 'alignment block') -> type:
    """The class an alignment-block config builds (``cfg['type']`` looked up in the ``MODELS`` registry, or a class).

    Raises:
        KeyError: the type is not registered (the message lists the registered alignment blocks).
        TypeError: the type is not a :class:`BaseAlignment` subclass.
    """
    from vidtoolbox.registry import MODELS
    if isinstance(cfg, nn.Module):
        cls = type(cfg)
    else:
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise TypeError(f'{who}: expected a config dict with a "type" key, got {cfg!r}')
        typ = cfg['type']
        cls = typ if isinstance(typ, type) else MODELS.get(typ)
        if cls is None:
            known = sorted(k for k, v in MODELS.module_dict.items()
                           if isinstance(v, type) and issubclass(v, BaseAlignment))
            raise KeyError(f'{who}: type {typ!r} is not registered in vidtoolbox.registry.MODELS; registered '
                           f'alignment blocks: {known} (a block of your own must be imported, e.g. by the config\'s '
                           'custom_imports)')
    if not (isinstance(cls, type) and issubclass(cls, BaseAlignment)):
        raise TypeError(f'{who}: {getattr(cls, "__name__", cls)!r} is not an alignment block; alignment blocks '
                        'derive from vidtoolbox.models.alignment.BaseAlignment')
    return cls


def alignment_caps(cfg) -> AlignCaps:
    """The :class:`AlignCaps` of the block a config (``dict(type=..., ...)``) or module describes."""
    if isinstance(cfg, BaseAlignment):
        return cfg.caps
    cls = resolve_block_class(cfg)
    kwargs = {k: v for k, v in cfg.items() if k != 'type'}
    return cls.capabilities(kwargs)


def fill_alignment_cfg(cfg: dict, channels: int, cond_channels: Optional[int] = None,
                       deform_groups: Optional[int] = None) -> dict:
    """A copy of a block config with what a network fills in: ``in_channels`` / ``out_channels`` = ``channels``,
    ``cond_channels`` (when given) and, for blocks that declare ``takes_deform_groups``, the network's
    ``deform_groups`` — each only when the config does not set it."""
    cfg = dict(cfg)
    if deform_groups is not None and alignment_caps(cfg).takes_deform_groups:
        cfg.setdefault('deform_groups', deform_groups)
    cfg.setdefault('in_channels', channels)
    cfg.setdefault('out_channels', channels)
    if cond_channels is not None:
        cfg.setdefault('cond_channels', cond_channels)
    return cfg


def alignment_record(block: nn.Module, aux: dict, name: str, stride: int = 1, residual: bool = False,
                     nbr_index: Optional[int] = None, ref_index: Optional[int] = None,
                     deform_groups: Optional[int] = None) -> dict:
    """The record a network reports for one block call (``aux['alignments']`` lists them).

    Args:
        block: the block that produced ``aux`` (its ``deform_groups`` G and ``num_offsets`` N are copied).
        aux: the block's aux dict (``offsets`` ``(B, G·N·2, h, w)``, ``masks`` when modulated, ...).
        name: the call site, e.g. ``'pcd.l2'``, ``'tdan.align'`` — losses and hooks group records by it.
        stride: downsampling of the offsets' resolution relative to the LR input.
        residual: the block's input was already aligned (its offsets are corrections, not ≈ flow): EDVR's cascade,
            TDAN's deformable convs on offset features.
        nbr_index, ref_index: frame indices in the input clip (neighbour aligned onto reference).
        deform_groups: G of ``aux`` when it is not the block's (a block aligning several neighbours at once reports
            one record per neighbour, each with its share of the groups, see
            :meth:`~vidtoolbox.models.alignment.FlowGuidedDCNAlign.split_aux`).

    Returns:
        ``dict(**aux, name, stride, residual, nbr_index, ref_index, deform_groups, num_offsets)`` — what
        :class:`~vidtoolbox.models.losses.OffsetFidelityLoss`, the offset monitor and the offset statistics read.
    """
    rec = dict(aux)
    rec.update(name=name, stride=int(stride), residual=bool(residual), nbr_index=nbr_index, ref_index=ref_index,
               deform_groups=int(getattr(block, 'deform_groups', 1) if deform_groups is None else deform_groups),
               num_offsets=int(getattr(block, 'num_offsets', 1)))
    return rec


def build_network_flow_source(who: str, flow_cfg, align_cfg):
    """The flow source a network builds for its alignment block (``None`` when the block needs none).

    A block that declares ``needs_flow`` gets ``flow(ref, nbr)`` from the network, which computes it with this source
    (see :func:`vidtoolbox.models.flow.reference_flows`); a block that does not declare it never reads a flow, so a
    ``flow_cfg`` for it is refused rather than silently unused.

    Args:
        who: the network's name, for error messages.
        flow_cfg: ``None``, a flow-source config dict or a :class:`~vidtoolbox.models.flow.BaseFlowSource` module.
        align_cfg: the block config (its capabilities are read, never its type name).

    Raises:
        ValueError: the block needs a flow and ``flow_cfg`` is None, or ``flow_cfg`` is given for a block that needs
            none. TypeError: ``flow_cfg`` does not build a flow source.
    """
    from vidtoolbox.models.flow.base import BaseFlowSource
    from vidtoolbox.registry import MODELS
    block = align_cfg.get('type') if isinstance(align_cfg, dict) else type(align_cfg).__name__
    block = getattr(block, '__name__', block)
    needs_flow = alignment_caps(align_cfg).needs_flow
    if flow_cfg is None:
        if needs_flow:
            raise ValueError(f'{who}: the alignment block {block!r} declares needs_flow (it aligns with flow(ref, nbr)) '
                             "and has no flow source of its own: give the network one, e.g. flow_cfg=dict(type="
                             "'DISFlow') / dict(type='SPyNetFlow') / dict(type='GTFlow') (ground truth of the sample), "
                             "or the block one (align_cfg=dict(..., flow=dict(type='DISFlow')))")
        return None
    if not needs_flow:
        raise ValueError(f'{who}: flow_cfg is given but the alignment block {block!r} does not declare needs_flow, so '
                         'the flow would be unused; remove flow_cfg')
    source = MODELS.build(flow_cfg) if isinstance(flow_cfg, dict) else flow_cfg
    if not isinstance(source, BaseFlowSource):
        raise TypeError(f'{who}: flow_cfg must build a flow source (BaseFlowSource), got {type(source).__name__}')
    return source
