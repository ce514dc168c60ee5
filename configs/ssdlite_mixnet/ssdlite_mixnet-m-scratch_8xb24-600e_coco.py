_base_ = './ssdlite_mixnet-s-scratch_8xb24-600e_coco.py'
model = dict(backbone=dict(arch='m'))
