"""Middlebury flow colour coding, offset pictures, heatmaps, grids: known colours and shapes."""
import os.path as osp

import numpy as np
import pytest
import torch

from vidtoolbox.visualization import (color_wheel_image, colorize_scalar_map, diversity_heatmap, flow_to_color,
                                      make_color_wheel, make_grid, offsets_to_color, offsets_to_flow,
                                      save_heatmap_figure)


def one_vector(dx, dy, h=1, w=1):
    return np.stack([np.full((h, w), dx), np.full((h, w), dy)]).astype(np.float32)


def test_wheel_has_55_colours_with_the_ramp_boundaries():
    wheel = make_color_wheel()
    assert wheel.shape == (55, 3)
    # first colour of each ramp: RY red, YG yellow, GC green, CB cyan, BM blue, MR magenta
    for idx, rgb in ((0, (255, 0, 0)), (15, (255, 255, 0)), (21, (0, 255, 0)), (25, (0, 255, 255)),
                     (36, (0, 0, 255)), (49, (255, 0, 255))):
        assert tuple(wheel[idx]) == rgb, idx
    # inside RY: green rises as floor(255 * i / 15)
    assert wheel[14, 1] == np.floor(255 * 14 / 15) == 238
    # last colour of MR: blue falls to 255 - floor(255 * 5 / 6)
    assert tuple(wheel[54]) == (255, 0, 255 - 212)


def test_zero_flow_is_white_and_right_motion_is_the_wheel_start():
    assert (flow_to_color(np.zeros((2, 3, 4))) == 255).all()
    # pure right motion: the wheel colour at angle 0 = wheel[0] = red, full saturation at max_rad
    assert tuple(flow_to_color(one_vector(2.5, 0.0))[0, 0]) == (255, 0, 0)
    # also when dy is a negative zero (sign of zero must not flip it to the other side of the seam)
    assert tuple(flow_to_color(one_vector(1.0, -0.0))[0, 0]) == (255, 0, 0)


def test_known_directions_and_saturation():
    # hand-computed from the wheel: angle a = atan2(-dy, -dx) / pi, position (a + 1) / 2 * 54
    # down: a = -0.5 -> 13.5, halfway between (255, 221, 0) and (255, 238, 0) -> g = floor(229.5)
    assert tuple(flow_to_color(one_vector(0.0, 1.0))[0, 0]) == (255, 229, 0)
    # left: a = 0 -> 27 = CB[2]: (0, 255 - floor(510 / 11), 255)
    assert tuple(flow_to_color(one_vector(-1.0, 0.0))[0, 0]) == (0, 255 - 46, 255)
    # up: a = 0.5 -> 40.5 between BM[4] (78, 0, 255) and BM[5] (98, 0, 255) -> 88
    assert tuple(flow_to_color(one_vector(0.0, -1.0))[0, 0]) == (88, 0, 255)
    # half of max_rad: colour blended halfway to white: 1 - 0.5 * (1 - c)
    assert tuple(flow_to_color(one_vector(1.0, 0.0), max_rad=2.0)[0, 0]) == (255, 127, 127)
    # beyond max_rad: darkened to 75 %
    assert tuple(flow_to_color(one_vector(4.0, 0.0), max_rad=2.0)[0, 0]) == (191, 0, 0)


def test_layouts_and_invalid_values():
    flow = np.random.default_rng(0).normal(size=(2, 5, 7)).astype(np.float32)
    chw = flow_to_color(flow)
    assert chw.shape == (5, 7, 3) and chw.dtype == np.uint8
    assert (flow_to_color(np.moveaxis(flow, 0, -1)) == chw).all()
    assert (flow_to_color(torch.from_numpy(flow)[None]) == chw).all()
    assert (flow_to_color(flow, convert_to_bgr=True) == chw[..., ::-1]).all()
    flow[:, 0, 0] = np.nan
    out = flow_to_color(flow)
    assert tuple(out[0, 0]) == (0, 0, 0)
    with pytest.raises(ValueError, match=r'\(2, H, W\) or \(H, W, 2\)'):
        flow_to_color(np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match='max_rad must be >= 0'):
        flow_to_color(np.zeros((2, 4, 5)), max_rad=-1)


def test_color_wheel_legend():
    img = color_wheel_image(21)
    assert img.shape == (21, 21, 3)
    assert tuple(img[10, 10]) == (255, 255, 255)  # centre: no motion
    assert tuple(img[10, 20]) == (255, 0, 0)  # right rim: red
    assert tuple(img[0, 0]) == (128, 128, 128)  # outside the disc


def test_offsets_colour_like_the_flow_they_equal():
    # G = 2, N = 2; group 1 offset 0 = (dy, dx) = (0, 3): a flow dx = 3 -> red
    off = torch.zeros(1, 8, 2, 2)
    off[:, 2 * (1 * 2 + 0) + 1] = 3.0
    fl = offsets_to_flow(off, num_groups=2, group=1, index=0)
    assert fl.shape == (2, 2, 2) and (fl[0] == 3).all() and (fl[1] == 0).all()
    assert (offsets_to_color(off, 2, group=1, index=0) == flow_to_color(fl)).all()
    assert tuple(offsets_to_color(off, 2, group=1, index=0)[0, 0]) == (255, 0, 0)
    # the mean over group 1's two offsets is dx = 1.5; over all groups 0.75
    assert np.allclose(offsets_to_flow(off, 2, group=1)[0], 1.5)
    assert np.allclose(offsets_to_flow(off, 2, group=None)[0], 0.75)
    # dy offsets map to the flow's second channel
    off2 = torch.zeros(1, 2, 1, 1)
    off2[:, 0] = 2.0  # dy = 2 (down)
    assert tuple(offsets_to_color(off2)[0, 0]) == tuple(flow_to_color(one_vector(0.0, 2.0))[0, 0])
    with pytest.raises(IndexError, match='G=2 groups'):
        offsets_to_flow(off, 2, group=2)
    with pytest.raises(IndexError, match='N=2 offsets'):
        offsets_to_flow(off, 2, group=0, index=5)


def test_heatmaps_and_diversity():
    import matplotlib
    cm = matplotlib.colormaps['viridis']
    vals = np.array([[0.0, 1.0], [2.0, np.nan]])
    img = colorize_scalar_map(vals, vmin=0.0, vmax=2.0)
    assert img.shape == (2, 2, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == tuple((np.array(cm(0.0)[:3]) * 255 + 0.5).astype(np.uint8))
    assert tuple(img[1, 0]) == tuple((np.array(cm(1.0)[:3]) * 255 + 0.5).astype(np.uint8))
    assert tuple(img[1, 1]) == (0, 0, 0)
    with pytest.raises(ValueError, match='unknown matplotlib colormap'):
        colorize_scalar_map(vals, cmap='no_such_map')
    # diversity: pixel (0, 0) has two offsets 2 px apart (std 1), the others none
    off = torch.zeros(1, 4, 2, 2)
    off[0, 0, 0, 0] = 2.0
    heat = diversity_heatmap(off, num_groups=1, vmax=1.0)
    assert tuple(heat[0, 0]) == tuple(colorize_scalar_map(np.array([[1.0]]), 0.0, 1.0)[0, 0])
    assert tuple(heat[1, 1]) == tuple(colorize_scalar_map(np.array([[0.0]]), 0.0, 1.0)[0, 0])


def test_make_grid_layout_and_labels():
    a = np.zeros((4, 6, 3), np.uint8)
    b = np.ones((2, 3, 3), np.float32)  # float [0, 1] -> 255
    g = make_grid([a, b, a], ncols=2, pad=1)
    assert g.shape == (2 * (4 + 1) + 1, 2 * (6 + 1) + 1, 3)
    assert (g[1:5, 1:7] == 0).all()  # first cell
    assert (g[2:4, 1 + 7 + 1:1 + 7 + 1 + 3] == 255).all()  # b centred in cell 2
    g2 = make_grid([a, a], labels=['x', 'y'], cell_size=(8, 12))
    assert g2.shape == (8 + 14 + 4, 2 * 12 + 6, 3)
    with pytest.raises(ValueError, match='one label per image'):
        make_grid([a, a], labels=['x'])
    with pytest.raises(ValueError, match='no images'):
        make_grid([])


def test_save_heatmap_figure(tmp_path):
    import cv2
    path = save_heatmap_figure(str(tmp_path / "div.png"), [np.arange(12.0).reshape(3, 4)] * 2, title=["a", "b"])
    img = cv2.imread(path)
    assert osp.isfile(path) and img is not None and img.shape[0] > 50
