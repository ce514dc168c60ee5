_base_ = './ssdlite_mixnet-s_8xb24-600e_coco.py'
model = dict(backbone=dict(arch='l'))
