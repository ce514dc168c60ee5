"""Evaluate a trained detector (MMDetection's tools/test.py command line).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir DIR] [--show]
                                           [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

Prints pycocotools' 12 COCO numbers; ``--out`` dumps the predictions (mmdet's DumpDetResults format) and
``--show-dir``/``--show`` turn on the VisualizationHook, both with mmdet's own helpers as its tools/test.py.
What differs from mmdet's: mixdet's config setup (checked ``--cfg-options``, ``data_root=`` reaching the datasets,
CPU distributed) and checkpoints read as data (a refused one stops with one line).
"""
import argparse

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults

from mixdet.checkpoint import CheckpointError
from mixdet.datasets import DataError, one_line
from mixdet.engine.config_check import ConfigError
from mixdet.engine.config_setup import add_common_arguments, build_runner, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file (.pkl)')
    parser.add_argument('--show-dir', help='save images with drawn predictions into this dir (under the work dir)')
    parser.add_argument('--show', action='store_true', help='show the predictions in a window')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds each shown image stays (--show)')
    add_common_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise SystemExit(f'--out must be a .pkl or .pickle file, got {args.out}')
    cfg = load_config(args)
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    cfg.load_from = args.checkpoint  # MixdetRunner reads it as data and loads it strictly, on every rank

    try:
        runner = build_runner(cfg)
        if args.out is not None:
            runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
        runner.test()
    except (CheckpointError, ConfigError) as error:  # one line naming the checkpoint or the setting
        raise SystemExit(str(error)) from error
    except DataError as error:  # one line naming the data file or setting (mixdet/datasets)
        raise SystemExit(one_line(error)) from error


if __name__ == '__main__':
    main()
