"""Evaluate a video-SR model against bicubic upsampling (used by ``tools/demo.py``)."""
import os.path as osp
from typing import Dict, Iterable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from vidtoolbox.evaluation.metrics.psnr import psnr
from vidtoolbox.evaluation.metrics.ssim import ssim

__all__ = ['evaluate_sr_vs_bicubic', 'save_comparison']


def _to_uint8(img: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` [0, 1] tensor → ``(H, W, 3)`` uint8 RGB."""
    return (img.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0).round().astype(np.uint8)


@torch.no_grad()
def evaluate_sr_vs_bicubic(model, dataloader: Iterable, crop_border: int = 0,
                           max_samples: Optional[int] = None) -> Dict[str, object]:
    """PSNR/SSIM (RGB, [0, 255], crop_border) of ``model`` and of bicubic upsampling of the reference LR frame.

    Args:
        model: a task head (``VideoSR``) in eval mode, called with ``mode='tensor'``.
        dataloader: yields collated ``{'inputs', 'data_samples'}`` batches (any batch size).

    Returns:
        dict with ``model``/``bicubic`` → ``{'PSNR', 'SSIM'}`` averaged over samples, ``num_samples`` and the
        first sample's ``(bicubic, output, gt)`` uint8 images under ``example``.
    """
    model.eval()
    scores = {'model': {'PSNR': [], 'SSIM': []}, 'bicubic': {'PSNR': [], 'SSIM': []}}
    example = None
    n = 0
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        out = model(inputs, samples, mode='tensor').clamp(0, 1)
        gt = model.get_target(samples, out)
        ref = samples.get('ref_index')
        ref_idx = inputs.shape[1] // 2 if ref is None else [int(r) for r in torch.as_tensor(ref).view(-1)]
        for i in range(out.shape[0]):
            ri = ref_idx if isinstance(ref_idx, int) else ref_idx[i]
            lr = inputs[i, ri:ri + 1]
            bic = F.interpolate(lr, size=gt.shape[-2:], mode='bicubic', align_corners=False)[0].clamp(0, 1)
            o8, b8, g8 = _to_uint8(out[i]), _to_uint8(bic), _to_uint8(gt[i])
            for name, img in (('model', o8), ('bicubic', b8)):
                scores[name]['PSNR'].append(psnr(img, g8, crop_border=crop_border, input_order='HWC'))
                scores[name]['SSIM'].append(ssim(img, g8, crop_border=crop_border, input_order='HWC'))
            if example is None:
                example = (b8, o8, g8)
            n += 1
            if max_samples is not None and n >= max_samples:
                break
        if max_samples is not None and n >= max_samples:
            break
    if n == 0:
        raise ValueError('evaluate_sr_vs_bicubic: the dataloader yielded no samples')
    result = {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in scores.items()}
    result['num_samples'] = n
    result['example'] = example
    return result


def save_comparison(example, path: str) -> str:
    """Save ``(bicubic, output, gt)`` uint8 RGB images side by side (with 4-px white gaps) as PNG."""
    import cv2
    h = max(im.shape[0] for im in example)
    gap = np.full((h, 4, 3), 255, np.uint8)
    row = np.concatenate([example[0], gap, example[1], gap, example[2]], axis=1)
    d = osp.dirname(osp.abspath(path))
    import os
    os.makedirs(d, exist_ok=True)
    if not cv2.imwrite(path, row[:, :, ::-1]):
        raise OSError(f'could not write {path}')
    return path
