from .ssdlite import SSDLiteDetector

__all__ = ['SSDLiteDetector']
