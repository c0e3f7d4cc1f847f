"""Test hook: SIGKILL the training process in the middle of saving the checkpoint of iteration ``at_iter`` — after
the checkpoint's temporary file is fully written, before it is renamed into place (the worst moment)."""
import os
import os.path as osp
import signal

from mmengine.hooks import Hook

from vidtoolbox.registry import HOOKS
from vidtoolbox.utils.atomic import PARTIAL_MARK


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    def __init__(self, at_iter: int):
        self.at_iter = at_iter

    def before_save_checkpoint(self, runner, checkpoint):
        if runner.iter + 1 != self.at_iter:
            return
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if PARTIAL_MARK in osp.basename(str(src)) and str(dst).endswith('.pth'):
                os.kill(os.getpid(), signal.SIGKILL)
            return real_replace(src, dst, *args, **kwargs)

        os.replace = replace
