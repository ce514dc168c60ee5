# mmdet's SSDLite-MobileNetV2 COCO config as it ships, plus what mixdet fixes in mmdet 3.3.0: the SSD head
# that can predict, and drop_last (the 1x1 neck level cannot train BatchNorm on a final batch of one image).
# The plain baseline of the MixConv drop-in configs in this folder (README, "MixConv as a drop-in").
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
model = dict(bbox_head=dict(type='MixdetSSDHead'))
train_dataloader = dict(drop_last=True)
