"""SSD head that can predict under mmdet 3.3.0.

mmdet 3.3.0's ``SSDHead`` never sets ``loss_cls``, which ``BaseDenseHead.predict_by_feat``
reads (``'SSDHead' object has no attribute 'loss_cls'``; mmdet issues #11063/#11305/#11780,
unmerged PR #11524). SSD's classifier is a softmax over num_classes + 1 (background last),
which ``predict_by_feat`` picks when ``loss_cls`` is not sigmoid-based.
"""
from mmdet.models.dense_heads import SSDHead

from mixdet.registry import MODELS


@MODELS.register_module()
class MixdetSSDHead(SSDHead):
    """``SSDHead`` with ``loss_cls = None`` so that inference (``predict``) works; arguments as ``SSDHead``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_cls = None
