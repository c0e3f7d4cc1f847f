"""Video super-resolution task head."""
from vidtoolbox.registry import MODELS
from .base_head import BaseTaskHead

__all__ = ['VideoSR']


@MODELS.register_module()
class VideoSR(BaseTaskHead):
    """Multi-frame video SR: ``(B, T, 3, h, w)`` LR frames → ``(B, 3, H, W)`` restored reference frame.

    The target is ``data_samples['gt']`` ``(B, Tg, 3, H, W)``: its only frame when ``Tg == 1`` (EDVR-style
    datasets store just the centre frame), else the frame at ``ref_index``.

    Example config::

        model = dict(type='VideoSR', generator=dict(type='EDVRNet', ...),
                     losses=[dict(type='CharbonnierLoss', loss_weight=1.0)])
    """

    def get_target(self, data_samples, pred):
        gt = data_samples['gt']
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
