from .mixnet import MixNet

__all__ = ['MixNet']
