_base_ = './ssdlite_mixnet-s_8xb24-600e_coco.py'
checkpoint = 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/mixnet_l-5a9a2ed8.pth'  # noqa: E501
model = dict(backbone=dict(arch='l', init_cfg=dict(checkpoint=checkpoint)))
