"""Export a trained SSD detector to one ONNX model: normalization, network, box decoding and NMS.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT --out model.onnx [--shape 320 | --shape H W]
        [--opset 17] [--dynamic-batch] [--mixconv auto|padded|split] [--cfg-options k=v ...]

Input ``input`` float32 [N, 3, H, W] (BGR pixels 0-255 at the config's test size, N = 1 unless
--dynamic-batch); outputs ``dets`` float32 [N, K, 5] (x1, y1, x2, y2, score in input pixels) and ``labels``
int64 [N, K] (-1 past the detections), K = test_cfg.max_per_img: mmdeploy's end2end names and layout.
Standard ONNX operators only; a model it cannot export is refused with one sentence. The model's metadata holds
the class names, the input format and the config and checkpoint file names (mixdet/deploy/metadata.py).
"""
import argparse
import json
import os.path as osp

from mixdet.apis import init_config, init_detector
from mixdet.checkpoint import CheckpointError
from mixdet.deploy import ExportError, export_onnx
from mixdet.deploy.export import DEFAULT_OPSET
from mixdet.deploy.metadata import CLASSES, deploy_metadata
from mixdet.deploy.onnx_graph import op_types
from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_check import ConfigError
from mixdet.ops.mixconv_onnx import ONNX_FORMS
from mixdet.utils.input_size import input_size


def parse_args():
    parser = argparse.ArgumentParser(description='Export a detector end to end to ONNX')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs='+', help="input size H or H W (default: the config's test size)")
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help=f'ONNX opset (default {DEFAULT_OPSET})')
    parser.add_argument('--dynamic-batch', action='store_true', help='make the batch dimension dynamic')
    parser.add_argument('--mixconv', choices=ONNX_FORMS, default='auto',
                        help='MixConv as one zero-padded Conv (padded), Split + one Conv per kernel size + Concat '
                             '(split), or per layer by the measured rule of mixdet/ops/mixconv_onnx.py (auto, default)')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    try:
        cfg = init_config(args.config, args.cfg_options)
        size = input_size(cfg, args.shape, args.config)
    except (ConfigError, ValueError) as error:  # a bad option or shape, a config without a fixed size
        raise SystemExit(str(error)) from error
    try:
        model = init_detector(cfg, args.checkpoint)
    except CheckpointError as error:  # unreadable, unsafe, not this config's model
        raise SystemExit(str(error)) from error
    metadata = deploy_metadata(cfg, args.config, args.checkpoint, size)
    classes = json.loads(metadata[CLASSES])
    if len(classes) != model.bbox_head.num_classes:
        raise SystemExit(f'the test dataset of {args.config} has {len(classes)} classes, the model\'s head '
                         f'{model.bbox_head.num_classes}: set metainfo.classes')
    try:
        onnx_model = export_onnx(model, args.out, size, args.opset, args.dynamic_batch, args.mixconv,
                                 metadata=metadata)
    except ExportError as error:
        raise SystemExit(str(error)) from error
    nodes = op_types(onnx_model)
    counts = ', '.join(f'{op} {n}' for op, n in sorted(nodes.items()))
    print(f'{args.out}: input [{"N" if args.dynamic_batch else 1}, 3, {size[0]}, {size[1]}], '
          f'opset {args.opset}, {sum(nodes.values())} nodes ({counts})')


if __name__ == '__main__':
    main()
