from .ssd_head import MixdetSSDHead

__all__ = ['MixdetSSDHead']
