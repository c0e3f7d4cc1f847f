"""(a) A user's block derived from a built-in one and registered under its own name.

It inherits everything, capabilities included (``takes_deform_groups``), so every network treats it exactly like
``DCNv2Align``: the network's ``deform_groups`` fills it in unless its config sets one.
"""
from vidtoolbox.models.alignment import DCNv2Align
from vidtoolbox.registry import MODELS


@MODELS.register_module()
class MyDCN(DCNv2Align):
    """DCNv2 alignment that counts its calls (a stand-in for whatever a user changes)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def forward(self, ref_feat, nbr_feat, cond=None, **ctx):
        self.calls += 1
        return super().forward(ref_feat, nbr_feat, cond=cond, **ctx)
