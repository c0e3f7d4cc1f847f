# The built-in demo (configs/demo/edvr_m_ofl_builtin.py: EDVR-M, Charbonnier + offset-fidelity, 400 iterations) with
# flow-guided deformable alignment at every PCD level instead of DCNv2: the offsets are the optical flow plus a learned
# residue bounded by max_residue = 10 px (BasicVSR++'s alignment, FlowGuidedDCNAlign). The flow, flow(ref, nbr), is
# OpenCV DIS ('medium') on the LR frames, computed once per neighbour by EDVRNet (flow_cfg) and area-averaged to the
# PCD levels; the cascade gets a zero flow. DIS works on any video; for the dataset's exact flow use
#   --cfg-options model.generator.flow_cfg.type=GTFlow
# (the network then reads ref_flows from the sample, which a real video does not have). Same budget as the demo:
#   python tools/demo.py configs/demo/edvr_m_fgda_builtin.py
#
# The residue heads (conv_offset) train at 0.1x the demo's lr, i.e. at BasicVSR++'s 1e-4. Their output is
# max_residue * tanh(.), so one Adam step moves an offset about 10x further than it moves a DCNv2 offset (a plain
# conv output). At the demo's lr of 1e-3 for every parameter, the residues ran to the +-10 px bound within 100
# iterations (mean |offset| component 2.8 px at the end) and the model fell back to bicubic (+0.00 dB; docs/alignment.md).
# That run is reproduced by: --cfg-options optim_wrapper.paramwise_cfg.custom_keys.conv_offset.lr_mult=1.0
_base_ = ['./edvr_m_ofl_builtin.py']

model = dict(generator=dict(align_cfg=dict(_delete_=True, type='FlowGuidedDCNAlign', max_residue=10.0),
                            flow_cfg=dict(type='DISFlow', preset='medium')))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'conv_offset': dict(lr_mult=0.1)}))
work_dir = 'work_dirs/demo_edvr_m_fgda_builtin'
