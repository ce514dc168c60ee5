"""Config values that cannot work are one line before any training time is spent."""
import pytest
from mmengine.config import Config

from mixdet.engine.config_check import ConfigError, check_config

from conftest import FAST, SHAPES_CONFIG, run_tool


@pytest.mark.parametrize('key, value, words', [
    ('optim_wrapper.optimizer.lr', float('inf'), 'optim_wrapper.optimizer.lr=inf: give a finite number > 0'),
    ('optim_wrapper.optimizer.lr', 0, 'optim_wrapper.optimizer.lr=0: give a finite number > 0'),
    ('optim_wrapper.optimizer.weight_decay', -1e-4, 'weight_decay=-0.0001: give a finite number >= 0'),
    ('model.backbone.norm_eval', 'maybe', "model.backbone.norm_eval='maybe': give True or False"),
    ('train_cfg.val_interval', 0, 'train_cfg.val_interval=0: give a positive int'),
    ('train_cfg.max_iters', 1.5, 'train_cfg.max_iters=1.5: give a positive int'),
])
def test_values_that_cannot_work_are_named(key, value, words):
    cfg = Config.fromfile(SHAPES_CONFIG)
    cfg.merge_from_dict({key: value})
    with pytest.raises(ConfigError, match=words.replace('(', r'\(').replace('+', r'\+')) as error:
        check_config(cfg)
    assert '\n' not in str(error.value)


def test_the_shipped_config_passes():
    check_config(Config.fromfile(SHAPES_CONFIG))


def test_the_tools_say_it_in_one_line_before_training(shapes_root, tmp_path):
    result = run_tool('tools/train.py', SHAPES_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                      f'data_root={shapes_root}/', *FAST, 'train_cfg.val_interval=0', check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stdout, result.stdout[-2000:]
    assert result.stdout.strip().splitlines()[-1] == 'train_cfg.val_interval=0: give a positive int'
    assert not list(tmp_path.rglob('*.log')), 'nothing should have started'


@pytest.mark.parametrize('option, words', [
    ('model.backbone.type=MixNett', 'cannot build what the config describes: MixNett is not in the mmdet::model'),
    ('model.backbone.arch=x', "cannot build what the config describes: arch must be one of ['l', 'm', 's']"),
    ('default_hooks.checkpoint.interval=0', 'default_hooks.checkpoint.interval=0: give the number'),
])
def test_objects_that_cannot_be_built_are_one_line(shapes_root, tmp_path, option, words):
    result = run_tool('tools/test.py', SHAPES_CONFIG, tmp_path / 'none.pth', '--work-dir', tmp_path, '--cfg-options',
                      f'data_root={shapes_root}/', *FAST, option, check=False)
    assert result.returncode != 0 and 'Traceback' not in result.stdout, result.stdout[-2000:]
    assert words in result.stdout.strip().splitlines()[-1]
