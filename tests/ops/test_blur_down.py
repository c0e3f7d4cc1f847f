"""BD degradation (Gaussian blur sigma 1.6, keep every 4th pixel): an independent OpenCV reference, the sampling
phase (centred on each 4x4 block, like bicubic), sizes and errors."""
import cv2
import numpy as np
import pytest
import torch

from vidtoolbox.ops.blur_down import bd_kernel_size, blur_down, blur_down_matrix, blur_down_torch
from vidtoolbox.ops.imresize import imresize


def fspecial_gaussian(size, sigma):
    """MATLAB's fspecial('gaussian', size, sigma), written out in 2-D."""
    r = (size - 1) / 2.0
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    k = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    return k / k.sum()


def test_equals_opencv_filter_and_matlab_subsampling():
    """imfilter(img, fspecial('gaussian', 12, 1.6), 'replicate') then img(2:4:end-2, 2:4:end-2) (MATLAB, 1-based),
    computed with cv2.filter2D (anchor at tap 5, replicated border) and numpy slicing."""
    rng = np.random.default_rng(0)
    img = rng.random((40, 52, 3))
    assert bd_kernel_size(1.6) == 12
    k = fspecial_gaussian(12, 1.6)
    blurred = cv2.filter2D(img, -1, k, anchor=(5, 5), borderType=cv2.BORDER_REPLICATE)
    ref = blurred[1:40 - 2:4, 1:52 - 2:4]
    out = blur_down(img)
    assert out.shape == (10, 13, 3) == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-12)
    t = blur_down_torch(torch.from_numpy(img).permute(2, 0, 1))
    np.testing.assert_allclose(t.permute(1, 2, 0).numpy(), ref, atol=1e-12)


def test_phase_is_the_block_centre_like_bicubic():
    """On a ramp (value = x coordinate), LR pixel j away from the border is exactly 4j + 1.5: the centre of its
    4x4 block, the value MATLAB bicubic x4 gives too."""
    ramp = np.tile(np.arange(64, dtype=np.float64), (64, 1))
    bd = blur_down(ramp)
    bi = imresize(ramp, scale=0.25)
    j = np.arange(2, 14)  # 6 px (> kernel half-width 5.5) from the borders
    np.testing.assert_allclose(bd[5, j], 4 * j + 1.5, atol=1e-12)
    np.testing.assert_allclose(bi[5, j], 4 * j + 1.5, atol=1e-12)


def test_rows_sum_to_one_sizes_and_errors():
    m = blur_down_matrix(30)
    assert m.shape == (7, 30) and np.allclose(m.sum(1), 1.0) and (m >= 0).all()
    assert blur_down(np.zeros((9, 4), np.float32)).shape == (2, 1)
    assert blur_down(np.zeros((9, 4), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match='even int'):
        blur_down(np.zeros((8, 8)), scale=3)
    with pytest.raises(ValueError, match='input length'):
        blur_down(np.zeros((3, 8)))
    with pytest.raises(TypeError, match='floating'):
        blur_down(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match='sigma'):
        blur_down(np.zeros((8, 8)), sigma=0)
