"""restore_video and its parts: tiles (tiled == untiled for a sufficient overlap), the sliding-window padding equals
the SR dataset's, recurrent chunks (exact with full context, error bounded by the context), --eval's bicubic row
against an independent computation, laziness of the streams, errors."""
import os

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from vidtoolbox.apis.restore import (SIZE_MULTIPLE, SRModel, degrade, recurrent_stream, restore_tiled, restore_video,
                                     sliding_window_stream, tile_spans)
from vidtoolbox.datasets.frames_folder import FramesFolderDataset, padded_window_indices
from vidtoolbox.models.archs.basicvsr import BasicVSRNet
from vidtoolbox.models.archs.edvr import EDVRNet
from vidtoolbox.ops.imresize import imresize
from vidtoolbox.utils.errors import UserInputError


def tiny_edvr(num_frames=3, seed=0):
    torch.manual_seed(seed)
    return EDVRNet(mid_channels=8, num_frames=num_frames, deform_groups=1, num_extract_block=1,
                   num_reconstruct_block=1).eval()


class WindowRecorder(nn.Module):
    """A x1 sliding-window 'net' that returns its centre frame and records which frames each window held (frame k
    is filled with the value k·5/255)."""

    scale = 1

    def __init__(self, num_frames):
        super().__init__()
        self.num_frames = num_frames
        self.center_frame_idx = num_frames // 2
        self.windows = []

    def forward(self, x):
        self.windows.append([round(v * 255 / 5) for v in x[0, :, 0, 0, 0].tolist()])
        return x[:, self.num_frames // 2]


class TwoSidedDecay(nn.Module):
    """A x1 every-frame 'recurrent net': ``y_t = sum_k 0.5^|t-k| x_k`` over the frames of the clip it is given."""

    scale = 1
    frames_out = 'all'

    def forward(self, x):
        t = x.shape[1]
        idx = torch.arange(t, dtype=torch.float64)
        w = 0.5 ** (idx[:, None] - idx[None, :]).abs()
        return torch.einsum('tk,bkchw->btchw', w.to(x.dtype), x)


# ------------------------------------------------------------------------------------------------ tiles
@pytest.mark.parametrize('length,tile,overlap', [(64, 16, 4), (64, 24, 8), (100, 32, 10), (36, 32, 0), (20, 32, 8)])
def test_tile_spans_partition_the_axis_with_context(length, tile, overlap):
    length = -(-length // 4) * 4
    spans = tile_spans(length, tile, overlap)
    kept = [k for _, _, a, b in spans for k in range(a, b)]
    assert kept == list(range(length))  # the kept ranges partition the axis, in order
    for s, e, a, b in spans:
        assert s % SIZE_MULTIPLE == 0 and e - s == min(tile, length) and 0 <= s <= a < b <= e <= length
        assert a == 0 or a - s >= overlap // 2  # real context on the inner sides
        assert b == length or e - b >= overlap // 2


def test_tiled_equals_untiled_for_sufficient_overlap():
    """A tiny random EDVR on a 3-frame 48x64 window, 32-px tiles: no overlap shows seams; 16 px (8 px of context
    on each side of a seam) gives the untiled result to <= 1e-4, and more overlap gets closer."""
    sr = SRModel(tiny_edvr())
    x = torch.rand(1, 3, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    full = restore_tiled(sr, x, 4, None)
    diffs = {ov: float((restore_tiled(sr, x, 4, 32, ov) - full).abs().max()) for ov in (0, 16, 24)}
    assert full.shape == (1, 3, 192, 256)
    assert diffs[0] > 0.05, diffs
    assert diffs[16] <= 1e-4 and diffs[24] <= diffs[16], diffs


# ------------------------------------------------------------------------------------------------ windows
def _value_frames(n, h=8, w=8):
    return [np.full((h, w, 3), k * 5 / 255, np.float32) for k in range(n)]


def test_window_padding_identical_to_the_sr_dataset(tmp_path, helpers):
    """The frames each output frame is restored from are those FramesFolderDataset (mode 'sr', its default
    'reflection_circle' padding) puts in the sample of that frame."""
    n, nf = 9, 5
    helpers.write_folder(str(tmp_path / 'gt' / 'clip'), _value_frames(n))
    ds = FramesFolderDataset(str(tmp_path / 'gt'), mode='sr', lq_root=str(tmp_path / 'gt'), scale=1, num_frames=nf)
    expected = [[int(os.path.basename(p)[5:-4]) for p in ds.get_data_info(i)['lq_paths']] for i in range(len(ds))]
    assert len(expected) == n and expected[0] == [4, 3, 0, 1, 2]
    net = WindowRecorder(nf)
    info = restore_video(str(tmp_path / 'gt' / 'clip'), str(tmp_path / 'out'), net, progress=False)
    assert net.windows == expected and info['padding'] == 'reflection_circle' and info['num_frames'] == n
    out = [cv2.imread(str(tmp_path / 'out' / f)) for f in sorted(os.listdir(tmp_path / 'out'))]
    assert [int(o[0, 0, 0]) // 5 for o in out] == list(range(n))  # frame i's output is frame i


def test_sliding_window_short_clip_replicates_and_stream_is_lazy():
    got = []
    out = list(sliding_window_stream(iter(range(3)), 5, lambda w: got.append(w) or w[2]))
    assert out == [0, 1, 2] and got == [padded_window_indices(i, 3, 5, 'replicate') for i in range(3)]
    read = []

    def frames():
        for k in range(40):
            read.append(k)
            yield k

    for i, _ in enumerate(sliding_window_stream(frames(), 5, lambda w: w[2])):
        assert len(read) <= i + 2 * 2 + 1  # frame i is restored once frames up to i + 4 are read
    assert len(read) == 40


# ------------------------------------------------------------------------------------------------ chunks
def test_recurrent_chunks_exact_with_full_context_and_bounded_error():
    """Chunks with `overlap` context frames: the error of a frame is the part of y_t = sum 0.5^|t-k| x_k that lies
    beyond its context, <= 2 * 0.5^overlap * max|x| (and 0 once the context covers the clip)."""
    sr = SRModel(TwoSidedDecay())
    x = [torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(k), dtype=torch.float64) for k in range(30)]

    def run(frames):
        return list(sr(torch.stack(frames)[None])[0])

    whole = torch.stack(list(recurrent_stream(x, 1000, 0, run)))
    errors = {}
    for ov in (0, 2, 4, 8):
        y = torch.stack(list(recurrent_stream(x, 7, ov, run)))
        assert y.shape == whole.shape
        errors[ov] = float((y - whole).abs().max())
        assert errors[ov] <= 2 * 0.5 ** ov + 1e-12, errors
    assert errors[0] > errors[2] > errors[4] > errors[8] > 0, errors
    assert torch.equal(torch.stack(list(recurrent_stream(x, 7, 30, run))), whole)


def test_recurrent_stream_holds_chunk_plus_overlap():
    read, held = [], []

    def frames():
        for k in range(50):
            read.append(k)
            yield k

    def run(fr):
        held.append(len(fr))
        return fr

    out = []
    for v in recurrent_stream(frames(), 8, 3, run):
        out.append(v)
        assert len(read) <= len(out) + 8 + 3
    assert out == list(range(50)) and max(held) == 8 + 2 * 3


def test_basicvsr_chunks_with_context_covering_the_clip_equal_the_whole_clip(tmp_path, helpers):
    """The real recurrent net through restore_video: chunks of 2 whose context covers the 3-frame clip give the
    whole-clip output exactly; without context the output differs."""
    torch.manual_seed(0)
    net = BasicVSRNet(mid_channels=4, num_blocks=1).eval()
    helpers.write_folder(str(tmp_path / 'in'), helpers.moving_frames(3, h=64, w=68))
    outs = {}
    for name, chunk, ov in (('whole', 3, 0), ('ctx', 2, 2), ('none', 2, 0)):
        info = restore_video(str(tmp_path / 'in'), str(tmp_path / name), net, chunk=chunk, overlap=ov, progress=False)
        assert info['chunk'] == chunk and info['out_size'] == (256, 272)
        outs[name] = np.stack([cv2.imread(str(tmp_path / name / f)) for f in sorted(os.listdir(tmp_path / name))])
    assert outs['whole'].shape == (3, 256, 272, 3)
    assert np.array_equal(outs['ctx'], outs['whole'])
    assert np.abs(outs['none'].astype(int) - outs['whole']).max() > 0


# ------------------------------------------------------------------------------------------------ eval
def test_eval_bicubic_row_equals_an_independent_computation(tmp_path, helpers):
    frames = helpers.moving_frames(3, h=36, w=42)  # 42 is cropped to 40 (a multiple of 4)
    helpers.write_folder(str(tmp_path / 'gt'), frames)
    info = restore_video(str(tmp_path / 'gt'), str(tmp_path / 'out'), tiny_edvr(), evaluate=True, progress=False,
                         compare=str(tmp_path / 'cmp.png'))
    psnrs = []
    for f in frames:
        gt = np.rint(f * 255).astype(np.float64) / 255  # what the PNG holds
        gt = gt[:36, :40]
        lr = np.rint(np.clip(imresize(gt, scale=0.25), 0, 1) * 255) / 255
        up = F.interpolate(torch.from_numpy(lr).permute(2, 0, 1)[None], scale_factor=4, mode='bicubic',
                           align_corners=False)[0].permute(1, 2, 0).numpy()
        up8 = np.rint(np.clip(up, 0, 1) * 255)
        mse = np.mean((up8 - np.rint(gt * 255)) ** 2)
        psnrs.append(10 * np.log10(255 ** 2 / mse))
    assert info['metrics']['bicubic']['PSNR'] == pytest.approx(np.mean(psnrs), abs=1e-6)
    assert info['gt_size'] == (36, 40) and info['out_size'] == (36, 40) and info['lr_size'] == (9, 10)
    assert 0 < info['metrics']['model']['SSIM'] <= 1
    assert cv2.imread(str(tmp_path / 'cmp.png')) is not None


def test_degrade_bd_is_blur_down_rounded():
    from vidtoolbox.ops.blur_down import blur_down
    gt = np.random.default_rng(0).random((16, 24, 3)).astype(np.float32)
    lr = degrade(gt, 4, 'BD')
    assert lr.shape == (4, 6, 3)
    np.testing.assert_allclose(lr, np.rint(blur_down(gt) * 255) / 255, atol=1e-6)
    assert np.allclose(lr * 255, np.rint(lr * 255), atol=1e-4)


# ------------------------------------------------------------------------------------------------ errors
def test_model_kinds_and_errors(tmp_path, helpers):
    helpers.write_folder(str(tmp_path / 'in'), helpers.moving_frames(3, h=16, w=16))
    src, out = str(tmp_path / 'in'), str(tmp_path / 'out')
    sr = SRModel(tiny_edvr())
    assert not sr.every_frame and sr.num_frames == 3 and sr.scale == 4
    assert SRModel(BasicVSRNet(mid_channels=4, num_blocks=1)).min_size == 64

    def err(model, **kw):
        with pytest.raises(UserInputError) as e:
            restore_video(src, out, model, progress=False, **kw)
        return str(e.value)

    assert 'not a super-resolution network' in err(nn.Conv2d(3, 3, 1))
    assert 'odd window centred' in err(tiny_edvr(num_frames=4))
    odd = tiny_edvr()
    odd.center_frame_idx = 0
    assert 'odd window centred' in err(odd)
    assert '--chunk/--overlap apply to every-frame' in err(tiny_edvr(), chunk=4)
    assert '--tile 30 cannot work' in err(tiny_edvr(), tile=30)
    assert '--tile-overlap 30 cannot work' in err(tiny_edvr(), tile=32, tile_overlap=30)
    assert '--tile-overlap needs --tile' in err(tiny_edvr(), tile_overlap=8)
    bvsr = BasicVSRNet(mid_channels=4, num_blocks=1)
    assert 'below the 64x64 minimum input size of BasicVSRNet' in err(bvsr)
    assert '--chunk (frames per chunk) must be an int >= 1' in err(bvsr, chunk=0)
    assert '--overlap (context frames) must be an int >= 0' in err(bvsr, overlap=-1)
    assert '--tile 32 cannot work' in err(bvsr, tile=32)  # below the 64-px minimum
    assert 'too small for --eval: their x4 LR frames would be 4x4' in err(bvsr, evaluate=True)
    assert 'needs --eval' in err(tiny_edvr(), compare=str(tmp_path / 'c.png'))
    assert 'must be a .png' in err(tiny_edvr(), evaluate=True, compare=str(tmp_path / 'c.jpg'))
    assert sorted(os.listdir(tmp_path)) == ['in']


def test_package_level_entry_points():
    import vidtoolbox.apis as apis
    from vidtoolbox.apis.interpolate import interpolate_video
    from vidtoolbox.apis.predict import predict_video
    assert apis.restore_video is restore_video and apis.predict_video is predict_video
    assert apis.interpolate_video is interpolate_video
    with pytest.raises(AttributeError):
        apis.no_such_api
