"""``--cfg-options data_root=...`` reaches every dataset and COCO evaluator of a config; ``--threads``."""
import argparse
import os

import pytest
import torch
from mmengine.config import Config

from mixdet.engine.config_setup import add_common_arguments, apply_cfg_options, dataset_configs, set_threads

from conftest import REPO


def test_data_root_reaches_datasets_and_evaluators():
    cfg = Config.fromfile(REPO / 'configs/ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py')
    apply_cfg_options(cfg, {'data_root': '/elsewhere/coco/'})
    roots = [d['data_root'] for d in dataset_configs(cfg) if 'data_root' in d]
    assert len(roots) == 3 and set(roots) == {'/elsewhere/coco/'}  # train (inside RepeatDataset), val, test
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert evaluator.ann_file == '/elsewhere/coco/annotations/instances_val2017.json'


def test_threads_option_sets_torch_and_child_processes(monkeypatch):
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    monkeypatch.setenv('OMP_NUM_THREADS', '7')
    before = torch.get_num_threads()
    try:
        set_threads(parser.parse_args(['--threads', '1']).threads)
        assert torch.get_num_threads() == 1 and os.environ['OMP_NUM_THREADS'] == '1'
        set_threads(parser.parse_args([]).threads)  # not given: left as it is
        assert torch.get_num_threads() == 1 and os.environ['OMP_NUM_THREADS'] == '1'
    finally:
        torch.set_num_threads(before)
    with pytest.raises(SystemExit, match='--threads must be a positive number of threads, got 0'):
        set_threads(0)
