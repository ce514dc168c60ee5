# The MobileNetV2 shapes config with every depthwise 3x3 replaced by MixConv {3, 5, 7} (MixConvBackbone);
# the other side of the toy comparison in docs/mixconv-drop-in.md.
_base_ = './ssdlite_mobilenetv2_1xb8-1k_shapes.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='MixConvBackbone',
        backbone={{_base_.model.backbone}},
        kernel_sizes=(3, 5, 7),
        layers='all'))
