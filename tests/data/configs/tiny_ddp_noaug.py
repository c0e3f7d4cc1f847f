# tiny_ddp without augmentation: 2 processes x batch b must train exactly like 1 process x batch 2b
_base_ = ['./tiny_ddp.py']
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackVideoInputs')]))
