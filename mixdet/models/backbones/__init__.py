from .mixconv_backbone import MixConvBackbone
from .mixnet import MixNet

__all__ = ['MixConvBackbone', 'MixNet']
