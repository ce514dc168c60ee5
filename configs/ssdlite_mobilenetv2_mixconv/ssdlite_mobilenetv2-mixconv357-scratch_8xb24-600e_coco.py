# The MixConv paper's MobileNetV2 experiment (arXiv 1907.09595, Fig. 4) on SSDLite: the baseline with every
# depthwise 3x3 of MobileNetV2 replaced by MixConv {3, 5, 7}; nothing else changes.
_base_ = '../ssdlite_mixnet/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='MixConvBackbone',
        backbone={{_base_.model.backbone}},
        kernel_sizes=(3, 5, 7),
        layers='all'))
