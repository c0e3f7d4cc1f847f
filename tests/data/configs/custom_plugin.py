# Trains a generator defined in tests/data/plugins/my_plugin.py (not part of the toolbox) via custom_imports.
_base_ = ['./tiny_edvr_builtin.py']
custom_imports = dict(imports=['my_plugin'], allow_failed_imports=False)
model = dict(generator=dict(_delete_=True, type='MyTinySRNet', channels=4))
