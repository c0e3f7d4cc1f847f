# tiny_edvr_builtin with a fault injected: SIGKILL while the checkpoint of iteration 4 is being saved
_base_ = ['./tiny_edvr_builtin.py']
custom_imports = dict(imports=['kill_during_save'], allow_failed_imports=False)
custom_hooks = [dict(type='KillDuringSaveHook', at_iter=4)]
