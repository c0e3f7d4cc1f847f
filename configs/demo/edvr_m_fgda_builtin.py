# The built-in demo (configs/demo/edvr_m_ofl_builtin.py: EDVR-M, Charbonnier + offset-fidelity, 400 iterations) with
# flow-guided deformable alignment at every PCD level instead of DCNv2: the offsets are the optical flow plus a learned
# residue bounded by max_residue = 10 px (BasicVSR++'s alignment, FlowGuidedDCNAlign). The flow, flow(ref, nbr), is
# OpenCV DIS ('medium') on the LR frames, computed once per neighbour by EDVRNet (flow_cfg) and area-averaged to the
# PCD levels; the cascade gets a zero flow. DIS works on any video; for the dataset's exact flow use
#   --cfg-options model.generator.flow_cfg.type=GTFlow
# (the network then reads ref_flows from the sample, which a real video does not have). Same budget as the demo:
#   python tools/demo.py configs/demo/edvr_m_fgda_builtin.py
_base_ = ['./edvr_m_ofl_builtin.py']

model = dict(generator=dict(align_cfg=dict(_delete_=True, type='FlowGuidedDCNAlign', max_residue=10.0),
                            flow_cfg=dict(type='DISFlow', preset='medium')))
work_dir = 'work_dirs/demo_edvr_m_fgda_builtin'
