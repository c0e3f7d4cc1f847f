"""MATLAB-compatible bicubic imresize: known values derived by hand from the kernel formula."""
import numpy as np
import pytest
import torch

from vidtoolbox.ops.imresize import cubic_kernel, imresize, imresize_torch, resize_matrix


def keys(x):
    """Keys cubic kernel, a = -0.5, written out independently of the implementation."""
    x = abs(x)
    if x <= 1:
        return 1.5 * x ** 3 - 2.5 * x ** 2 + 1
    if x <= 2:
        return -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2
    return 0.0


def mirror(i, n):
    """Symmetric (border-repeating) reflection of a 0-based index."""
    while i < 0 or i >= n:
        i = -i - 1 if i < 0 else 2 * n - 1 - i
    return i


def direct_pixel(img, scale, oy, ox):
    """One output pixel of a downscale by ``scale`` (< 1) with the antialiased kernel, by explicit loops."""
    def taps(o, n):
        u = (o + 1) / scale + 0.5 * (1 - 1 / scale) - 1  # 0-based centre
        ws = {}
        for i in range(int(np.floor(u - 2 / scale)) - 1, int(np.ceil(u + 2 / scale)) + 2):
            w = scale * keys(scale * (u - i))
            if w:
                ws[i] = w
        total = sum(ws.values())
        out = {}
        for i, w in ws.items():
            out[mirror(i, n)] = out.get(mirror(i, n), 0.0) + w / total
        return out
    ty, tx = taps(oy, img.shape[0]), taps(ox, img.shape[1])
    return sum(wy * wx * img[iy, ix] for iy, wy in ty.items() for ix, wx in tx.items())


def test_kernel_values():
    xs = np.array([0, 0.25, 0.5, 1, 1.25, 1.5, 2, 2.5, -0.75])
    np.testing.assert_allclose(cubic_kernel(xs), [keys(x) for x in xs], atol=1e-15)
    assert cubic_kernel(np.array([0.0]))[0] == 1 and cubic_kernel(np.array([1.0, 2.0])).tolist() == [0, 0]


@pytest.mark.parametrize('kw', [dict(scale=0.25), dict(scale=2), dict(scale=1 / 3), dict(size=(7, 19))])
def test_constant_stays_constant(kw):
    img = np.full((24, 30, 3), 0.3721, np.float64)
    out = imresize(img, **kw)
    np.testing.assert_allclose(out, 0.3721, atol=1e-13)


def test_linear_ramp_reproduced_in_interior():
    ramp = np.tile(np.arange(64, dtype=np.float64)[None, :], (4, 1)) * 0.01
    down = imresize(ramp, scale=0.25)
    # output j (0-based) is centred on input coordinate 4j + 1.5; the interior (kernel inside the image) is exact
    np.testing.assert_allclose(down[:, 2:-2], np.tile(0.01 * (4 * np.arange(2, 14) + 1.5), (1, 1)), atol=1e-12)
    up = imresize(ramp, scale=2)
    # output j is centred on j / 2 - 0.25
    j = np.arange(4, 124)
    np.testing.assert_allclose(up[:, 4:124], np.tile(0.01 * (j / 2 - 0.25), (8, 1)), atol=1e-12)


def test_impulse_known_weights():
    # x4 down: taps at distances ±0.5, ±1.5, … ±7.5 (quarter-spaced samples of k sum to exactly 4),
    # so the weight of the input pixel 0.5 from the centre is k(0.125) / 4 = 0.9638671875 / 4.
    img = np.zeros((1, 64))
    img[0, 4 * 7 + 1] = 1.0
    row = imresize(img, size=(1, 16))
    assert row.shape == (1, 16)
    assert row[0, 7] == pytest.approx(0.9638671875 / 4, abs=1e-14)
    # x2 up: output 2m is centred on m - 0.25, so an impulse at m gives k(0.25) = 0.8671875
    img = np.zeros((1, 10))
    img[0, 5] = 1.0
    assert imresize(img, size=(1, 20))[0, 10] == pytest.approx(0.8671875, abs=1e-14)


def test_symmetric_border():
    # x2 up of the ramp 0, 1, 2, ...: output 0 is centred on -0.25 with taps -2, -1, 0, 1 at distances
    # 1.75, 0.75, 0.25, 1.25; symmetric mirroring maps -1 → 0 and -2 → 1: value = k(1.75) + k(1.25) = -0.09375
    # (replicate padding would give k(1.25) = -0.0703125).
    ramp = np.arange(8, dtype=np.float64)[None, :]
    out = imresize(ramp, size=(1, 16))
    assert out[0, 0] == pytest.approx(keys(1.75) + keys(1.25), abs=1e-14)
    assert out[0, 0] == pytest.approx(-0.09375, abs=1e-14)


def test_x4_down_matches_direct_kernel_evaluation():
    rng = np.random.default_rng(0)
    img = rng.random((20, 24, 3))
    out = imresize(img, scale=0.25)
    assert out.shape == (5, 6, 3)
    for oy, ox in [(0, 0), (2, 3), (4, 5), (1, 5)]:
        np.testing.assert_allclose(out[oy, ox], direct_pixel(img, 0.25, oy, ox), atol=1e-12)


def test_shapes_dtypes_and_no_clipping():
    img = np.random.default_rng(1).random((17, 23, 3)).astype(np.float32)
    out = imresize(img, scale=0.25)
    assert out.shape == (5, 6, 3) and out.dtype == np.float32
    assert imresize(img[..., 0], scale=2).shape == (34, 46)
    assert imresize(np.zeros((129, 129)), scale=1 / 3).shape == (43, 43)
    assert imresize(img, size=9).shape == (9, 9, 3)
    step = np.zeros((8, 16))
    step[:, 8:] = 1.0
    up = imresize(step, scale=2)
    assert up.min() < -0.01 and up.max() > 1.01  # bicubic overshoot is kept (no clipping)


def test_matrix_rows_sum_to_one():
    for n_in, n_out in [(16, 4), (5, 13), (64, 16), (1, 3)]:
        np.testing.assert_allclose(resize_matrix(n_in, n_out).sum(1), 1.0, atol=1e-13)


def test_torch_matches_numpy_and_is_differentiable():
    img = np.random.default_rng(2).random((2, 3, 16, 20))
    x = torch.tensor(img, requires_grad=True)
    y = imresize_torch(x, scale=0.25)
    assert y.shape == (2, 3, 4, 5)
    ref = np.stack([imresize(im.transpose(1, 2, 0), scale=0.25).transpose(2, 0, 1) for im in img])
    np.testing.assert_allclose(y.detach().numpy(), ref, atol=1e-12)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert imresize_torch(x.float(), size=(8, 10)).dtype == torch.float32


@pytest.mark.parametrize('args, kwargs, exc, match', [
    ((np.zeros((8, 8)),), dict(), ValueError, 'exactly one of scale'),
    ((np.zeros((8, 8)),), dict(scale=0.5, size=(4, 4)), ValueError, 'exactly one of scale'),
    ((np.zeros((8, 8), np.uint8),), dict(scale=0.5), TypeError, 'floating'),
    ((np.zeros((2, 8, 8, 3)),), dict(scale=0.5), ValueError, r'\(H, W\) or \(H, W, C\)'),
    ((np.zeros((8, 8)),), dict(scale=-1), ValueError, 'positive number'),
    ((np.zeros((8, 8)),), dict(size=(0, 4)), ValueError, 'positive ints'),
    (([[0.0]],), dict(scale=2), TypeError, 'numpy array'),
])
def test_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        imresize(*args, **kwargs)


def test_torch_errors():
    with pytest.raises(TypeError, match='floating'):
        imresize_torch(torch.zeros(4, 4, dtype=torch.long), scale=0.5)
    with pytest.raises(ValueError, match=r'\(\.\.\., H, W\)'):
        imresize_torch(torch.zeros(4), scale=0.5)
