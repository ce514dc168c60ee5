"""Train a detector (MMDetection's tools/train.py command line).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

Multi-GPU / multi-node: tools/dist_train.sh (torchrun) or `srun ... --launcher slurm`.
"""
import argparse
import os
import pickle

from mmengine.config import Config, DictAction
from mmengine.runner import Runner, find_latest_checkpoint

from mixdet.engine.checkpoint_globals import explain_refused_checkpoint, mmengine_checkpoint_globals
from mixdet.engine.config_setup import adapt_to_machine, apply_cfg_options, enable_amp, set_work_dir


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training (CUDA)')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the LR by real batch / base batch')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir when no CKPT is given')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. data_root=/data/coco/)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    apply_cfg_options(cfg, args.cfg_options)
    set_work_dir(cfg, args.config, args.work_dir)
    adapt_to_machine(cfg, args.launcher)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume

    runner = Runner.from_cfg(cfg)
    try:
        with mmengine_checkpoint_globals():
            runner.train()
    except pickle.UnpicklingError as error:
        path = cfg.load_from or find_latest_checkpoint(cfg.work_dir)
        raise SystemExit(explain_refused_checkpoint(path, error)) from error


if __name__ == '__main__':
    main()
