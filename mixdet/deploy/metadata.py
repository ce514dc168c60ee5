"""What a deployed model file says about itself: ONNX ``metadata_props`` written by tools/deployment/export_onnx.py.

Keys (values are strings; JSON where noted), enough to run the model without the config or OpenMMLab:

* ``classes``: JSON list of the class names, index = ``labels`` value;
* ``input_format``: JSON ``{"layout": "NCHW", "channels": "BGR", "range": [0, 255], "dtype": "float32",
  "height": H, "width": W}`` (H, W: the size the model was exported at; also the input's shape unless dynamic);
* ``mixdet.config``, ``mixdet.checkpoint``: the file *names* (no folders) of the config and checkpoint, and
  ``mixdet.checkpoint_sha256``, so that tools/deployment/test_onnx.py can check it runs the matching weights.
"""
from __future__ import annotations

import hashlib
import json
import os.path as osp

from mmengine.config import Config

CLASSES, INPUT_FORMAT = 'classes', 'input_format'
CONFIG, CHECKPOINT, CHECKPOINT_SHA256 = 'mixdet.config', 'mixdet.checkpoint', 'mixdet.checkpoint_sha256'


def class_names(cfg: Config) -> list[str]:
    """The test dataset's class names: its config's ``metainfo.classes``, else its dataset class's METAINFO."""
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:  # dataset wrappers
        dataset = dataset.dataset
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is None:
        from mmdet.registry import DATASETS
        classes = DATASETS.get(dataset.type).METAINFO['classes']
    return list(classes)


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def deploy_metadata(cfg: Config, config_path: str, checkpoint_path: str, input_size: tuple[int, int]
                    ) -> dict[str, str]:
    """The metadata of the module docstring for a model of ``cfg`` exported at ``input_size`` (H, W)."""
    height, width = input_size
    input_format = dict(layout='NCHW', channels='BGR', range=[0, 255], dtype='float32', height=height, width=width)
    return {CLASSES: json.dumps(class_names(cfg)), INPUT_FORMAT: json.dumps(input_format),
            CONFIG: osp.basename(config_path), CHECKPOINT: osp.basename(checkpoint_path),
            CHECKPOINT_SHA256: sha256(checkpoint_path)}
