"""Checkpoints as untrusted input: the one place where mixdet reads, checks and loads weight files and URLs.

* reading as data: :func:`read_source` (a local file or an ``http(s)://`` URL, :mod:`.download`'s cache),
  :mod:`.data_reader` (no code from a file ever runs), :mod:`.inert` stand-ins for mmengine's objects;
* strict loading: :mod:`.state_dict` (keys, shapes, finite values, with an explanation hook) and
  :mod:`.loading` (``Pretrained`` backbones, whole models);
* the training state of a checkpoint as plain data: :mod:`.message_hub`.

Errors are :class:`CheckpointError`, one line naming the file or URL. Nothing here imports OpenMMLab;
:mod:`mixdet.engine.checkpoint_schemes` puts this reader behind mmengine's own loading paths.
"""
from .data_reader import read_checkpoint, read_safetensors, read_weights
from .download import is_url
from .errors import CheckpointError
from .loading import load_checkpoint_strictly, load_model_strictly, load_pretrained, read_source
from .state_dict import checkpoint_state, load_state_strictly

__all__ = ['CheckpointError', 'checkpoint_state', 'is_url', 'load_checkpoint_strictly', 'load_model_strictly',
           'load_pretrained', 'load_state_strictly', 'read_checkpoint', 'read_safetensors', 'read_source',
           'read_weights']
