"""Quantize an exported detector to INT8 (ONNX Runtime static quantization, QDQ, per-channel weights).

    python tools/deployment/quantize_onnx.py CONFIG MODEL.onnx --out MODEL_int8.onnx [--calib-images 100]
        [--calib-method minmax|entropy|percentile] [--cfg-options k=v ...]

Calibrates the activation ranges on ``--calib-images`` images of the config's training set (evenly spaced over
it), loaded and resized by the config's test pipeline (BGR, 0-255, the model's input size, no augmentation).
Which nodes stay float, and why: mixdet/deploy/quantize.py. Evaluate the result like the float model:
``tools/deployment/test_onnx.py CONFIG MODEL.onnx MODEL_int8.onnx``.
"""
import argparse
import copy

import numpy as np
from mmengine.config import Config

from mixdet.apis import init_config
from mixdet.deploy.onnx_file import OnnxFileError, open_detector
from mixdet.deploy.quantize import CALIBRATION_METHODS, quantize_detector
from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_check import ConfigError


def parse_args():
    parser = argparse.ArgumentParser(description='INT8 static quantization of an exported detector')
    parser.add_argument('config', help='config file path (its training set calibrates)')
    parser.add_argument('model', help='float .onnx file of tools/deployment/export_onnx.py')
    parser.add_argument('--out', required=True, help='the INT8 .onnx file to write')
    parser.add_argument('--calib-images', type=int, default=100, help='training images to calibrate on (100)')
    parser.add_argument('--calib-method', choices=sorted(CALIBRATION_METHODS), default='minmax',
                        help='activation range estimate (default minmax)')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def calibration_set(cfg: Config):
    """The config's training set (inside any dataset wrapper) with the test pipeline."""
    from mmdet.registry import DATASETS
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    while 'dataset' in dataset_cfg:  # RepeatDataset and other wrappers
        dataset_cfg = dataset_cfg.dataset
    dataset_cfg.pipeline = cfg.test_dataloader.dataset.pipeline
    return DATASETS.build(dataset_cfg)


def calibration_images(dataset, count: int, size: tuple[int, int]):
    """``count`` images of ``dataset``, evenly spaced: [3, H, W] uint8 BGR arrays."""
    for index in np.linspace(0, len(dataset) - 1, count).round().astype(int):
        image = dataset[int(index)]['inputs'].numpy()
        if tuple(image.shape[1:]) != size:
            raise SystemExit(f'the test pipeline gives {image.shape[1]}x{image.shape[2]} images, the model takes '
                             f'{size[0]}x{size[1]}')
        yield image


def main():
    args = parse_args()
    try:
        cfg = init_config(args.config, args.cfg_options)
        height, width = open_detector(args.model, threads=1).get_inputs()[0].shape[2:]
    except (ConfigError, OnnxFileError) as error:  # one line naming the option or the model file
        raise SystemExit(str(error)) from error
    dataset = calibration_set(cfg)
    if not 1 <= args.calib_images <= len(dataset):
        raise SystemExit(f'--calib-images must be 1 to {len(dataset)} (the training set), got {args.calib_images}')
    kept = quantize_detector(args.model, args.out, calibration_images(dataset, args.calib_images, (height, width)),
                             args.calib_method)
    print(f'{args.out}: INT8 QDQ (per-channel weights, {args.calib_method} calibration on {args.calib_images} '
          f'training images), {kept} nodes kept in float')


if __name__ == '__main__':
    main()
