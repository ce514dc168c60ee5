"""Evaluate a trained detector (MMDetection's tools/test.py command line).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir DIR]
                                           [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

Prints pycocotools' 12 COCO numbers; ``--out`` dumps the predictions (mmdet's DumpDetResults format).
"""
import argparse
import os.path as osp
import pickle

from mmdet.evaluation import DumpDetResults
from mmengine.runner import Runner

from mixdet.engine.checkpoint_fit import load_checkpoint_strictly
from mixdet.engine.checkpoint_globals import explain_refused_checkpoint, mmengine_checkpoint_globals
from mixdet.engine.config_setup import add_common_arguments, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file (.pkl)')
    parser.add_argument('--show-dir', help='save images with drawn predictions into this dir (under the work dir)')
    add_common_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise SystemExit(f'--out must be a .pkl or .pickle file, got {args.out}')
    cfg = load_config(args)
    if args.show_dir:
        visualization = cfg.default_hooks.visualization
        visualization.draw, visualization.test_out_dir = True, args.show_dir

    runner = Runner.from_cfg(cfg)
    if args.out is not None:
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    # Loaded here, strictly, instead of through cfg.load_from (mmengine's load is strict=False).
    with mmengine_checkpoint_globals():
        try:
            load_checkpoint_strictly(runner.model, args.checkpoint)
        except pickle.UnpicklingError as error:
            raise SystemExit(explain_refused_checkpoint(args.checkpoint, error)) from error
        except ValueError as error:  # the checkpoint does not fit this config's model
            raise SystemExit(str(error)) from error
    runner.test()


if __name__ == '__main__':
    main()
