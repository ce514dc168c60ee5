"""The API layer: what tools and user code call (as ``mmdet.apis``): a detector from a config and a checkpoint
(:func:`init_detector`), a checked config (:func:`init_config`), the benchmarks' detectors (:mod:`.bench_models`)
and the registration of mixdet's modules (:func:`register_all_modules`)."""
from mixdet.modules import register_all_modules

from .inference import init_config, init_detector

__all__ = ['init_config', 'init_detector', 'register_all_modules']
