"""--cfg-options name the option that is wrong: typos warn with the closest key, wrong types and bad syntax stop."""
import argparse
import warnings

import pytest
from mmengine.config import Config

from mixdet.engine.cfg_options import CheckedDictAction, check_cfg_options

from conftest import REPO


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(REPO / 'configs/shapes/ssdlite_mixnet-s_1xb8-1k_shapes.py')


def warned(cfg, options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        check_cfg_options(cfg, options)
    return [str(w.message) for w in caught]


def test_existing_keys_and_good_values_pass_quietly(cfg):
    assert warned(cfg, {'train_cfg.max_iters': 10, 'default_hooks.checkpoint.interval': 1,
                        'model.backbone.arch': 'm', 'optim_wrapper.optimizer.lr': 1e-3,
                        'default_hooks.checkpoint.save_best': None, 'train_pipeline.1.type': 'LoadAnnotations'}) == []


@pytest.mark.parametrize('option,expected', [
    ('foo_bar', "--cfg-options foo_bar: the config has no key 'foo_bar' at the top level; it is added as a new key"),
    ('default_hook.checkpoint.interval', "did you mean 'default_hooks'?"),
    ('default_hooks.checkpont.interval', "no key 'checkpont' at default_hooks; it is added as a new key; "
                                         "did you mean 'default_hooks.checkpoint'?"),
])
def test_unknown_keys_warn_with_the_closest_one(cfg, option, expected):
    messages = warned(cfg, {option: 1})
    assert len(messages) == 1 and expected in messages[0]


@pytest.mark.parametrize('option,value,expected', [
    ('train_cfg.max_iters', 'abc', "train_cfg.max_iters='abc': expected a number like the config's value 1000"),
    ('randomness.seed', 'abc', "randomness.seed='abc': expected a number like the config's value 0"),
    ('train_dataloader.persistent_workers', 3, 'expected a bool'),
])
def test_wrong_value_types_name_the_option(cfg, option, value, expected):
    with pytest.raises(ValueError, match=expected.replace('(', r'\(').replace(')', r'\)')):
        check_cfg_options(cfg, {option: value})


def test_an_argument_without_equals_is_a_usage_error(capsys):
    parser = argparse.ArgumentParser(prog='train.py')
    parser.add_argument('--cfg-options', nargs='+', action=CheckedDictAction)
    assert parser.parse_args(['--cfg-options', 'a.b=1', 'c=x']).cfg_options == {'a.b': 1, 'c': 'x'}
    with pytest.raises(SystemExit):
        parser.parse_args(['--cfg-options', 'foo'])
    assert "'foo' is not KEY=VALUE" in capsys.readouterr().err
