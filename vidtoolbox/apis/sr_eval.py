"""Evaluate a video-SR model against bicubic upsampling (used by ``tools/demo.py``)."""
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
    """PSNR/SSIM (RGB, [0, 255], crop_border) of ``model`` and of bicubic upsampling of the LR frames.

    Two kinds of models (see :class:`~vidtoolbox.models.heads.VideoSR`): those restoring the reference frame
    (output ``(B, 3, H, W)``, compared with bicubic of the reference LR frame) and those restoring every frame
    (output ``(B, T, 3, H, W)``, compared with bicubic of every LR frame; a sample's value is the mean over its
    frames, as the PSNR/SSIM metrics compute it).

    Args:
        model: a task head (``VideoSR``) in eval mode, called with ``mode='tensor'``.
        dataloader: yields collated ``{'inputs', 'data_samples'}`` batches (any batch size).

    Returns:
        dict with ``model``/``bicubic`` → ``{'PSNR', 'SSIM'}`` averaged over samples, ``num_samples`` (clips),
        ``num_frames`` (frames compared) and the ``(bicubic, output, gt)`` uint8 images of the most textured
        compared frame (mean absolute gradient of the GT; for every-frame outputs, each clip's reference frame)
        under ``example``.
    """
    model.eval()
    scores = {'model': {'PSNR': [], 'SSIM': []}, 'bicubic': {'PSNR': [], 'SSIM': []}}
    example, example_texture = None, 0.0
    n = frames = 0
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        inputs, samples = data['inputs'], data['data_samples']
        out = model(inputs, samples, mode='tensor').clamp(0, 1)
        gt = model.get_target(samples, out)
        every_frame = out.dim() == 5
        ref = samples.get('ref_index')
        ref_idx = inputs.shape[1] // 2 if ref is None else [int(r) for r in torch.as_tensor(ref).view(-1)]
        for i in range(out.shape[0]):
            ri = ref_idx if isinstance(ref_idx, int) else ref_idx[i]
            lr = inputs[i] if every_frame else inputs[i, ri:ri + 1]
            bic = F.interpolate(lr, size=gt.shape[-2:], mode='bicubic', align_corners=False).clamp(0, 1)
            outs, gts = (out[i], gt[i]) if every_frame else (out[i:i + 1], gt[i:i + 1])
            per = {'model': {'PSNR': [], 'SSIM': []}, 'bicubic': {'PSNR': [], 'SSIM': []}}
            for t in range(outs.shape[0]):
                o8, b8, g8 = _to_uint8(outs[t]), _to_uint8(bic[t]), _to_uint8(gts[t])
                for name, img in (('model', o8), ('bicubic', b8)):
                    per[name]['PSNR'].append(psnr(img, g8, crop_border=crop_border, input_order='HWC'))
                    per[name]['SSIM'].append(ssim(img, g8, crop_border=crop_border, input_order='HWC'))
                if not every_frame or t == ri:
                    texture = float(np.abs(np.diff(g8.astype(np.float32), axis=0)).mean()
                                    + np.abs(np.diff(g8.astype(np.float32), axis=1)).mean())
                    if example is None or texture > example_texture:  # the most textured frame shows the most
                        example, example_texture = (b8, o8, g8), texture
            for name in per:
                for m in per[name]:
                    scores[name][m].append(float(np.mean(per[name][m])))
            n += 1
            frames += outs.shape[0]
            if max_samples is not None and n >= max_samples:
                break
        if max_samples is not None and n >= max_samples:
            break
    if n == 0:
        raise ValueError('evaluate_sr_vs_bicubic: the dataloader yielded no samples')
    result = {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in scores.items()}
    result['num_samples'] = n
    result['num_frames'] = frames
    result['example'] = example
    return result


def save_comparison(example, path: str, crop: int = 64) -> str:
    """Save ``(bicubic, output, gt)`` uint8 RGB images as one labelled picture (PNG, atomically): the
    ``crop × crop`` window with the most texture where the model changed the bicubic result, each panel upscaled
    to >= 256 px and labelled with its PSNR on the crop (:mod:`vidtoolbox.visualization.compare`)."""
    import cv2

    from vidtoolbox.utils.atomic import AtomicPath
    from vidtoolbox.visualization.compare import render_comparison, select_crop
    bic, out, gt = example
    y, x, h, w = select_crop(gt, np.abs(out.astype(np.int16) - bic.astype(np.int16)), size=crop)
    crops = [im[y:y + h, x:x + w] for im in (bic, out, gt)]
    labels = [f'bicubic {psnr(crops[0], crops[2], input_order="HWC"):.2f} dB',
              f'model {psnr(crops[1], crops[2], input_order="HWC"):.2f} dB', 'ground truth']
    rgb = render_comparison(crops, labels, title=f'crop ({x}, {y}) {w}x{h} px of a held-out frame')
    with AtomicPath(path) as ap:
        if not cv2.imwrite(ap.tmp, np.ascontiguousarray(rgb[:, :, ::-1])):
            raise OSError(f'could not write {path}')
    return path
