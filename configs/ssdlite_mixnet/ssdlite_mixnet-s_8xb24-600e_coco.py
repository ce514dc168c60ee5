# SSDLite-MixNet-S starting from timm's ImageNet weights (mixnet_s, 76.00% ImageNet top-1 in timm), downloaded once
# into the torch hub cache and loaded strictly (the classifier is dropped). timm's mixnet_* weights were
# trained with PyTorch padding and BN eps 1e-5; its tf_mixnet_* weights need padding='same' and eps 1e-3.
_base_ = './ssdlite_mixnet-s-scratch_8xb24-600e_coco.py'
checkpoint = 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/mixnet_s-a907afbc.pth'  # noqa: E501
model = dict(
    backbone=dict(
        norm_cfg=dict(type='BN', eps=1e-5, momentum=0.03),
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=checkpoint)))
