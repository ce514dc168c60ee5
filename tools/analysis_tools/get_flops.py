"""Print parameters and multiply-adds of the model in an MMDetection config.

Usage:
    python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]] [--backbone-only] [--cfg-options k=v ...]

The config's ``model`` may be a detector or a bare backbone (e.g. ``dict(type='MixNet')``). The input size is
the config's own (its test pipeline's ``Resize(keep_ratio=False)``) unless ``--shape`` gives one; a config
without a fixed size (a bare backbone, ``keep_ratio=True``) needs ``--shape``.
"""
import argparse

from mixdet.apis import init_config, init_detector
from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_check import ConfigError
from mixdet.ops.complexity import count_macs, count_params
from mixdet.utils.input_size import input_size


def parse_args():
    parser = argparse.ArgumentParser(description='Parameters and multiply-adds of a model config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+',
                        help="input size: H or H W (default: the config's test pipeline resize)")
    parser.add_argument('--backbone-only', action='store_true', help='count only model.backbone of a detector')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        cfg = init_config(args.config, args.cfg_options)
    except ConfigError as error:  # one line naming the option
        raise SystemExit(str(error)) from error
    try:
        height, width = input_size(cfg, args.shape, args.config)
    except ValueError as error:  # one line naming the shape or the config
        raise SystemExit(str(error)) from error
    source = '--shape' if args.shape else "the config's test pipeline"
    model = init_detector(cfg)
    if args.backbone_only:
        if not hasattr(model, 'backbone'):
            raise SystemExit(f'{args.config}: --backbone-only needs a detector config with a backbone')
        model = model.backbone
    params, macs = count_params(model), count_macs(model, height, width)
    print(f'config: {args.config}')
    print(f'model: {type(model).__name__}, input 3x{height}x{width} ({source})')
    print(f'params: {params:,} ({params / 1e6:.2f} M)')
    print(f'multiply-adds: {macs:,} ({macs / 1e9:.3f} G)')


if __name__ == '__main__':
    main()
