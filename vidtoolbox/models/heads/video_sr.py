"""Video super-resolution task head."""
from vidtoolbox.registry import MODELS
from .base_head import BaseTaskHead

__all__ = ['VideoSR']


@MODELS.register_module()
class VideoSR(BaseTaskHead):
    """Multi-frame video SR: ``(B, T, 3, h, w)`` LR frames → the restored reference frame or every frame.

    Two kinds of generators:

    * **reference frame** (EDVR, TDAN, FlowSR): prediction ``(B, 3, H, W)``; the target is
      ``data_samples['gt']`` ``(B, Tg, 3, H, W)``: its only frame when ``Tg == 1`` (EDVR-style datasets store just
      the centre frame), else the frame at ``ref_index``.
    * **every frame** (recurrent nets such as ``BasicVSRNet``, ``frames_out = 'all'``): prediction
      ``(B, T, 3, H, W)``, compared with all T GT frames ``(B, T, 3, H, W)`` (datasets with ``gt_mode='all'``:
      ``SyntheticMotionDataset``, ``REDSDataset``). Losses average over every frame; ``predict`` packs
      ``(T, 3, H, W)`` per sample, which the PSNR/SSIM metrics average over frames — give them ``steps=()`` so they
      report only that average (their per-step keys ``_t+s`` are meant for prediction).

    Example config::

        model = dict(type='VideoSR', generator=dict(type='EDVRNet', ...),
                     losses=[dict(type='CharbonnierLoss', loss_weight=1.0)])
    """

    def get_target(self, data_samples, pred):
        gt = data_samples['gt']
        if pred.dim() == 5:  # the generator restores every input frame
            if gt.dim() != 5 or gt.shape != pred.shape:
                raise ValueError(f'VideoSR: the generator restores every frame, prediction {tuple(pred.shape)}, but '
                                 f'gt is {tuple(gt.shape)}; expected all T GT frames (B, T, 3, H, W): use a dataset '
                                 "with gt_mode='all' and check its scale against the generator scale")
            return gt
        if gt.dim() == 5:
            if gt.shape[1] == 1:
                gt = gt[:, 0]
            else:
                ref = data_samples.get('ref_index')
                if ref is None:
                    raise KeyError('VideoSR: gt has several frames but data_samples has no ref_index')
                idx = ref if isinstance(ref, int) else int(ref[0])
                gt = gt[:, idx]
        if gt.shape != pred.shape:
            raise ValueError(f'VideoSR: prediction {tuple(pred.shape)} and gt {tuple(gt.shape)} differ; check the '
                             'dataset scale against the generator scale')
        return gt
