"""``--cfg-options data_root=...`` reaches every dataset and COCO evaluator of a config."""
from pathlib import Path

from mmengine.config import Config

from mixdet.engine.config_setup import apply_cfg_options, dataset_configs

REPO = Path(__file__).resolve().parents[2]


def test_data_root_reaches_datasets_and_evaluators():
    cfg = Config.fromfile(REPO / 'configs/ssdlite_mixnet/ssdlite_mixnet-s-scratch_8xb24-600e_coco.py')
    apply_cfg_options(cfg, {'data_root': '/elsewhere/coco/'})
    roots = [d['data_root'] for d in dataset_configs(cfg) if 'data_root' in d]
    assert len(roots) == 3 and set(roots) == {'/elsewhere/coco/'}  # train (inside RepeatDataset), val, test
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert evaluator.ann_file == '/elsewhere/coco/annotations/instances_val2017.json'
