_base_ = './ssdlite_mobilenetv2-mixconv357-scratch_8xb24-600e_coco.py'
model = dict(backbone=dict(kernel_sizes=(3, 5, 7, 9)))
