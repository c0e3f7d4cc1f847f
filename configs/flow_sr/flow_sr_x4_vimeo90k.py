# Flow-based SR ×4 on Vimeo-90K (7 frames), evaluated on Vimeo-90K-T (Y, crop 8). Schedule: the EDVR one.
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/edvr_600k.py',
          '../_base_/datasets/vimeo90k_x4.py', './_flow_sr_model.py']
