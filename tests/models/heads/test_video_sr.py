import pytest
import torch

from vidtoolbox.registry import MODELS


def build(**kw):
    cfg = dict(type='VideoSR',
               generator=dict(type='EDVRNet', mid_channels=8, num_frames=3, deform_groups=2, num_extract_block=1,
                              num_reconstruct_block=1),
               losses=[dict(type='CharbonnierLoss')])
    cfg.update(kw)
    return MODELS.build(cfg)


def batch():
    torch.manual_seed(0)
    return dict(inputs=torch.rand(2, 3, 3, 8, 8), data_samples=dict(gt=torch.rand(2, 1, 3, 32, 32), key=['a', 'b']))


def test_loss_predict_tensor_modes():
    model = build()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_pix', 'offset_mean', 'offset_max'}
    out = model(**data, mode='tensor')
    # the loss equals Charbonnier of the tensor output against the single gt frame
    expected = torch.sqrt((out - data['data_samples']['gt'][:, 0]) ** 2 + 1e-12).mean()
    assert losses['loss_pix'].item() == pytest.approx(expected.item(), rel=1e-5)
    preds = model(**data, mode='predict')
    assert len(preds) == 2 and preds[0]['pred'].shape == (3, 32, 32) and preds[1]['key'] == 'b'
    assert preds[0]['pred'].min() >= 0 and preds[0]['pred'].max() <= 1


def test_train_step_updates_weights():
    from mmengine.optim import OptimWrapper
    model = build()
    opt = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    before = model.generator.conv_last.weight.detach().clone()
    log = model.train_step(batch(), opt)
    assert 'loss' in log and 'loss_pix' in log
    assert not torch.equal(before, model.generator.conv_last.weight)


def test_errors():
    with pytest.raises(ValueError, match='unique'):
        build(losses=[dict(type='CharbonnierLoss'), dict(type='CharbonnierLoss')])
    model = build()
    with pytest.raises(KeyError, match='data_samples\\["gt"\\]'):
        model(torch.rand(1, 3, 3, 8, 8), dict(key=['x']), mode='loss')
    with pytest.raises(ValueError, match='mode'):
        model(torch.rand(1, 3, 3, 8, 8), mode='bad')
    with pytest.raises(ValueError, match='differ'):
        model(torch.rand(1, 3, 3, 8, 8), dict(gt=torch.rand(1, 1, 3, 16, 16)), mode='loss')


def build_every_frame(**kw):
    cfg = dict(type='VideoSR', generator=dict(type='BasicVSRNet', mid_channels=8, num_blocks=1),
               losses=[dict(type='CharbonnierLoss')])
    cfg.update(kw)
    return MODELS.build(cfg)


def test_every_frame_generator_against_all_gt_frames():
    torch.manual_seed(0)
    model = build_every_frame()
    data = model.data_preprocessor(dict(inputs=torch.rand(1, 2, 3, 64, 64),
                                        data_samples=dict(gt=torch.rand(1, 2, 3, 256, 256), key=['clip'])), True)
    losses = model(**data, mode='loss')
    out = model(**data, mode='tensor')
    assert out.shape == (1, 2, 3, 256, 256)
    expected = torch.sqrt((out - data['data_samples']['gt']) ** 2 + 1e-12).mean()
    assert losses['loss_pix'].item() == pytest.approx(expected.item(), rel=1e-5)
    preds = model(**data, mode='predict')
    assert len(preds) == 1 and preds[0]['pred'].shape == preds[0]['gt'].shape == (2, 3, 256, 256)
    assert preds[0]['key'] == 'clip'
    # a centre-frame dataset (gt_mode='center') with an every-frame generator is an error that names the fix
    with pytest.raises(ValueError, match=r"restores every frame.*gt_mode='all'"):
        model(torch.rand(1, 2, 3, 64, 64), dict(gt=torch.rand(1, 1, 3, 256, 256)), mode='loss')
