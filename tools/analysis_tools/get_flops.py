"""Print parameters and multiply-adds of the model in an MMDetection config.

Usage:
    python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]] [--backbone-only] [--cfg-options k=v ...]

The config's ``model`` may be a detector or a bare backbone (e.g. ``dict(type='MixNet')``).
"""
import argparse

from mmengine.config import Config
from mmengine.registry import init_default_scope

from mixdet.engine.cfg_options import CheckedDictAction
from mixdet.engine.config_setup import apply_cfg_options
from mixdet.utils.complexity import count_macs, count_params


def parse_args():
    parser = argparse.ArgumentParser(description='Parameters and multiply-adds of a model config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', default=[320], help='input size: H or H W (default 320)')
    parser.add_argument('--backbone-only', action='store_true', help='count only model.backbone of a detector')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    if len(args.shape) not in (1, 2):
        raise SystemExit(f'--shape takes H or H W, got {args.shape}')
    height, width = args.shape * 2 if len(args.shape) == 1 else args.shape
    cfg = Config.fromfile(args.config)
    apply_cfg_options(cfg, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    if args.backbone_only:
        if not hasattr(model, 'backbone'):
            raise SystemExit(f'{args.config}: --backbone-only needs a detector config with a backbone')
        model = model.backbone
    params, macs = count_params(model), count_macs(model, height, width)
    print(f'config: {args.config}')
    print(f'model: {type(model).__name__}, input 3x{height}x{width}')
    print(f'params: {params:,} ({params / 1e6:.2f} M)')
    print(f'multiply-adds: {macs:,} ({macs / 1e9:.3f} G)')


if __name__ == '__main__':
    main()
