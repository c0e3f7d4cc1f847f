"""The checkpoint hook of the ``vidtoolbox`` scope: MMEngine's ``CheckpointHook``, in an order that cannot lose
everything.

MMEngine removes the oldest checkpoint (``max_keep_ckpts``) *before* writing the new one and writes
``last_checkpoint`` in place; a kill during the save then leaves no usable checkpoint when ``max_keep_ckpts=1``.
This hook writes the new checkpoint first (atomically, see :class:`vidtoolbox.engine.VidRunner`), then
``last_checkpoint`` (atomically), and only then removes what ``max_keep_ckpts`` no longer keeps.

It is registered under MMEngine's name, ``CheckpointHook``, in vidtoolbox's registry, so every config of the toolbox
(``default_scope='vidtoolbox'``) gets it with the same arguments.
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as _MMEngineCheckpointHook

from vidtoolbox.registry import HOOKS
from vidtoolbox.utils.atomic import write_text

__all__ = ['CheckpointHook']


@HOOKS.register_module()
class CheckpointHook(_MMEngineCheckpointHook):
    """MMEngine's ``CheckpointHook`` (same arguments); save first, then ``last_checkpoint``, then remove old files."""

    def _save_checkpoint_with_step(self, runner, step, meta):
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(self.out_dir, ckpt_filename, self.file_client_args, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                               backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_text(osp.join(runner.work_dir, 'last_checkpoint'), str(self.last_ckpt))
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            # MMEngine's deque has maxlen=max_keep_ckpts: appending drops the oldest id, whose file goes now
            dropped = self.keep_ckpt_ids[0] if len(self.keep_ckpt_ids) == self.max_keep_ckpts else None
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
            if dropped is not None:
                path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(dropped))
                if self.file_backend.isfile(path):
                    self.file_backend.remove(path)
                elif self.file_backend.isdir(path):
                    self.file_backend.rmtree(path)
