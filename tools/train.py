"""Train a detector (MMDetection's tools/train.py command line).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

Multi-GPU / multi-node: tools/dist_train.sh (torchrun) or `srun ... --launcher slurm`.
"""
import argparse

from mixdet.checkpoint import CheckpointError
from mixdet.datasets import DataError, one_line
from mixdet.engine.config_check import ConfigError
from mixdet.engine.config_setup import add_common_arguments, build_runner, enable_amp, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training (CUDA)')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the LR by real batch / base batch')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir when no CKPT is given')
    add_common_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume

    try:
        runner = build_runner(cfg)  # MixdetRunner (load_config's default runner_type)
        runner.train()
    except (CheckpointError, ConfigError) as error:  # one line naming the checkpoint or the setting
        raise SystemExit(str(error)) from error
    except DataError as error:  # one line naming the data file or setting (mixdet/datasets)
        raise SystemExit(one_line(error)) from error


if __name__ == '__main__':
    main()
