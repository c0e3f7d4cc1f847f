"""ResNet3DPredictor: Tab. A1 structure, parameter count, value ranges, padding, errors."""
import pytest
import torch

from vidtoolbox.models.archs import ResNet3DPredictor
from vidtoolbox.models.archs.resnet3d_predictor import count_parameters


def expected_params(c: int, n3: int = 2, n2: int = 4) -> int:
    """Parameter count of Tab. A1 written out layer by layer (conv weight + bias, BN weight + bias)."""
    def conv(cin, cout, k):  # k = number of kernel taps
        return cin * cout * k + cout

    def bn(ch):
        return 2 * ch

    total = conv(3, c, 3 * 7 * 7) + bn(c)
    for i in range(3):  # stride-(1, 2, 2) 3D convs doubling channels
        total += conv(c * 2 ** i, c * 2 ** (i + 1), 27) + bn(c * 2 ** (i + 1))
    total += n3 * 2 * (conv(8 * c, 8 * c, 27) + bn(8 * c))
    total += n2 * 2 * (conv(8 * c, 8 * c, 9) + bn(8 * c))
    for i in range(3):  # [nearest x2 -> 3x3 conv] x 3
        total += conv(c * 2 ** (3 - i), c * 2 ** (2 - i), 9) + bn(c * 2 ** (2 - i))
    return total + conv(c, 3, 49)


def test_parameter_count_matches_table_a1():
    net = ResNet3DPredictor(ngf=32)
    assert count_parameters(net) == expected_params(32)
    assert abs(count_parameters(net) / 1e6 - 13.4) < 0.05  # the paper's 13.4 M for ngf=32
    assert count_parameters(ResNet3DPredictor(ngf=4, num_res3d=1, num_res2d=3)) == expected_params(4, 1, 3)


def test_structure_and_init():
    net = ResNet3DPredictor(ngf=8)
    assert net.stem[0].kernel_size == (3, 7, 7)
    assert [blk[0].stride for blk in net.down] == [(1, 2, 2)] * 3
    assert [blk[0].out_channels for blk in net.down] == [16, 32, 64]
    assert len(net.res3d) == 2 and len(net.res2d) == 4
    assert net.head.kernel_size == (7, 7)
    w = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d))])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3


def test_output_range_shape_and_padding():
    torch.manual_seed(0)
    net = ResNet3DPredictor(num_context=3, ngf=4).eval()
    x = torch.rand(2, 3, 3, 16, 24)
    y = net(x)
    assert y.shape == (2, 3, 16, 24) and y.min() >= 0 and y.max() <= 1
    # a size that is not a multiple of 8 is padded (replicate) and cropped: same as padding by hand
    x2 = torch.rand(1, 3, 3, 13, 21)
    y2 = net(x2)
    padded = torch.nn.functional.pad(x2.reshape(1, 9, 13, 21), (0, 3, 0, 3), mode='replicate').reshape(1, 3, 3, 16, 24)
    assert y2.shape == (1, 3, 13, 21)
    assert torch.allclose(y2, net(padded)[..., :13, :21], atol=1e-6)


def test_every_context_frame_matters():
    torch.manual_seed(0)
    net = ResNet3DPredictor(num_context=3, ngf=4)
    x = torch.rand(1, 3, 3, 16, 16, requires_grad=True)
    net(x).sum().backward()
    per_frame = x.grad.abs().sum(dim=(0, 2, 3, 4))
    assert (per_frame > 0).all()


def test_errors():
    net = ResNet3DPredictor(num_context=2, ngf=2)
    with pytest.raises(ValueError, match='expected K=2 context frames'):
        net(torch.rand(1, 3, 3, 16, 16))
    with pytest.raises(ValueError, match=r'\(B, K, 3, H, W\)'):
        net(torch.rand(1, 2, 16, 16))
    with pytest.raises(ValueError, match='divisible by 8'):
        ResNet3DPredictor(num_context=2, ngf=2, pad_mode=None)(torch.rand(1, 2, 3, 12, 16))
    with pytest.raises(ValueError, match='ngf must be an int >= 1'):
        ResNet3DPredictor(ngf=0)
    with pytest.raises(ValueError, match='pad_mode'):
        ResNet3DPredictor(pad_mode='zeros')
