"""Config adjustments shared by tools/train.py and tools/test.py (what mmdet's tools do, plus
the fixes a current CPU/GPU stack needs)."""
from __future__ import annotations

import argparse
import datetime
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS

from mixdet.checkpoint import CheckpointError
from mixdet.datasets import CheckedCocoDataset
from mixdet.registry import DATASETS

from .cfg_options import CheckedDictAction, check_cfg_options
from .config_check import ConfigError, check_config


def dataset_configs(cfg: Config):
    """Yield every dataset config of the train/val/test dataloaders, unwrapping wrappers such as RepeatDataset."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(name) or {}).get('dataset')
        while dataset is not None:
            yield dataset
            dataset = dataset.get('dataset')


def set_data_root(cfg: Config, old_root: str, new_root: str) -> None:
    """Point every dataset and the COCO evaluators at ``new_root`` (``--cfg-options data_root=...``).

    ``data_root`` is substituted into the dataset configs when the file is parsed, so overriding
    the variable alone would change nothing.
    """
    for dataset in dataset_configs(cfg):
        if 'data_root' in dataset:
            dataset['data_root'] = new_root
    for name in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(name) or []
        for metric in evaluators if isinstance(evaluators, list) else [evaluators]:
            ann_file = metric.get('ann_file')
            if ann_file and ann_file.startswith(old_root):
                metric['ann_file'] = osp.join(new_root, ann_file[len(old_root):])
    cfg.data_root = new_root


def apply_cfg_options(cfg: Config, options: dict | None) -> None:
    """``merge_from_dict`` of checked options (:mod:`mixdet.engine.cfg_options`) plus a ``data_root`` override that
    reaches the datasets. A value of the wrong type is a ConfigError, one line naming the option."""
    if not options:
        return
    try:
        check_cfg_options(cfg, options)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    old_root = cfg.get('data_root')
    cfg.merge_from_dict(options)
    if 'data_root' in options and old_root is not None:
        set_data_root(cfg, old_root, options['data_root'])


def set_work_dir(cfg: Config, config_path: str, work_dir: str | None) -> None:
    """Work dir priority: CLI > config file > ./work_dirs/<config name> (as mmdet)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def adapt_to_machine(cfg: Config, launcher: str) -> None:
    """Use gloo and CPU DDP without CUDA (mmengine 0.10.7 assumes a GPU per rank)."""
    if launcher != 'none' and not torch.cuda.is_available():
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
        if cfg.get('model_wrapper_cfg') is None:  # mmengine's default passes device_ids=[LOCAL_RANK]: GPU only
            cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)


def init_cpu_distributed(launcher: str, dist_cfg: dict) -> None:
    """Start the gloo process group for a torchrun job on a machine without CUDA.

    mmengine 0.10.7's pytorch launcher calls ``torch.cuda.set_device`` unconditionally, which fails
    on CPU-only torch; the Runner skips its own initialisation when a process group already exists.
    ``dist_cfg.timeout`` (seconds) bounds every collective, as mmengine does with it on GPUs.
    """
    if launcher == 'pytorch' and not torch.cuda.is_available() and not torch.distributed.is_initialized():
        timeout = dist_cfg.get('timeout')
        torch.distributed.init_process_group(
            backend='gloo', **({} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))))


def enable_amp(cfg: Config) -> None:
    """Mixed precision as mmdet's ``--amp``; mmengine's AmpOptimWrapper needs a CUDA (or NPU/MLU) device."""
    if not torch.cuda.is_available():
        raise SystemExit('--amp needs a CUDA device: mmengine\'s AmpOptimWrapper does not run on the CPU')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def set_strict_data(cfg: Config) -> None:
    """``strict=True`` on every CheckedCocoDataset of the dataloaders: what their summary reports as ignored or
    dropped stops the tool instead of being a warning."""
    for dataset in dataset_configs(cfg):
        dataset_type = dataset.get('type')
        dataset_class = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
        if isinstance(dataset_class, type) and issubclass(dataset_class, CheckedCocoDataset):
            dataset['strict'] = True


def set_threads(threads: int | None) -> None:
    """``threads`` CPU threads for PyTorch in this process and, through OMP_NUM_THREADS, in the processes it starts
    (DataLoader workers, torchrun ranks); None leaves PyTorch's default (one per core)."""
    if threads is None:
        return
    if threads < 1:
        raise SystemExit(f'--threads must be a positive number of threads, got {threads}')
    torch.set_num_threads(threads)
    os.environ['OMP_NUM_THREADS'] = str(threads)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank``, as mmdet's tools, and
    ``--strict-data`` and ``--threads``."""
    parser.add_argument('--work-dir', help='the dir to save logs (and models)')
    parser.add_argument('--threads', type=int,
                        help='CPU threads of PyTorch (default: one per core); 1 when other jobs share the cores')
    parser.add_argument('--strict-data', action='store_true',
                        help='stop when a dataset ignores or drops anything (its summary line) instead of warning')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction,
                        help='override config settings, key=value (e.g. data_root=/data/coco/)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def build_runner(cfg: Config):
    """``RUNNERS.build(cfg)``; an object the config describes that cannot be built (an unknown ``type``, an argument
    its class refuses) stops the tool with one line. mmengine's registry puts the class and its module in front of
    the builder's own message, so the line says which object failed and why."""
    try:
        return RUNNERS.build(cfg)
    except (KeyError, ValueError, TypeError, AssertionError) as error:
        if isinstance(error, (CheckpointError, ConfigError)):
            raise SystemExit(str(error)) from error
        message = str(error.args[0]) if error.args else type(error).__name__
        raise SystemExit(f'cannot build what the config describes: {message.strip().splitlines()[0]}') from error


def load_config(args: argparse.Namespace) -> Config:
    """The config of ``args.config`` with the common arguments applied (work dir, options, launcher, machine)."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    set_threads(args.threads)
    cfg = Config.fromfile(args.config)
    cfg.setdefault('runner_type', 'MixdetRunner')  # safe, strict checkpoint loading; atomic saving
    cfg.launcher = args.launcher
    try:
        apply_cfg_options(cfg, args.cfg_options)
        check_config(cfg)
    except ConfigError as error:
        raise SystemExit(str(error)) from error
    if args.strict_data:
        set_strict_data(cfg)
    set_work_dir(cfg, args.config, args.work_dir)
    adapt_to_machine(cfg, args.launcher)
    init_cpu_distributed(args.launcher, cfg.env_cfg.get('dist_cfg', {}))
    return cfg
