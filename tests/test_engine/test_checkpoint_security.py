"""Checkpoints are untrusted input: crafted ones execute nothing, bad ones are refused in one line naming them.

Attacks built here, each through --resume, load_from, tools/test.py and the backbone's Pretrained init:
* configuration text in ``meta['config']``, which mmengine's Runner.resume evaluates with Config.fromstring;
* a HistoryBuffer whose ``__reduce_ex__`` is planted (through ``builtins.getattr``) so that the deep copy in
  ``MessageHub.load_state_dict`` calls ``eval`` on attacker code: the reader's getattr only records, so the
  file reads as data, its weights load, and resuming refuses the object in the message hub.
Either would create a marker file; it must never appear.
"""
import copy
import os
import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from numpy._core.multiarray import _reconstruct

from mixdet.checkpoint import CheckpointError, read_checkpoint
from mixdet.models.backbones import MixNet
from mixdet.testing.mmengine_files import PlantedHistoryBuffer, marker_code

from conftest import FAST, SHAPES_CONFIG, latest_checkpoint, run_tool


@pytest.fixture
def legit(trained_work_dir):
    return torch.load(latest_checkpoint(trained_work_dir), map_location='cpu', weights_only=True)


def config_payload(legit, marker, path):
    checkpoint = copy.deepcopy(legit)
    checkpoint['meta']['config'] = f'_x = {marker_code(marker)}\ngpu_ids = [0]\n'
    torch.save(checkpoint, path)
    return path


def getattr_payload(legit, marker, path):
    checkpoint = copy.deepcopy(legit)
    checkpoint['message_hub']['runtime_info']['planted'] = PlantedHistoryBuffer(marker_code(marker))
    torch.save(checkpoint, path)
    return path


def test_the_getattr_payload_is_live(legit, tmp_path):
    """The attack works against a loader that allows getattr (mixdet's old allow-list): the test is real."""
    marker = tmp_path / 'LIVE'
    path = getattr_payload(legit, marker, tmp_path / 'evil.pth')
    with torch.serialization.safe_globals([HistoryBuffer, getattr, np.ndarray, np.dtype, np.dtypes.Float64DType,
                                           _reconstruct]):
        loaded = torch.load(path, weights_only=True)
    copy.deepcopy(loaded['message_hub']['runtime_info']['planted'])
    assert marker.exists()


def common(shapes_root, work_dir):
    return ['--work-dir', work_dir, '--cfg-options', f'data_root={shapes_root}/', *FAST]


def assert_one_line_refusal(result, path, words):
    assert result.returncode != 0
    assert 'Traceback' not in result.stdout, result.stdout[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert str(path) in last and words in last, last


def test_getattr_payload_runs_nowhere(shapes_root, legit, marker, tmp_path):
    evil = getattr_payload(legit, marker, tmp_path / 'evil.pth')
    work = tmp_path / 'work'
    resumed = run_tool('tools/train.py', SHAPES_CONFIG, '--resume', evil, *common(shapes_root, work), check=False)
    assert_one_line_refusal(resumed, evil, "message-hub runtime info ['planted'] holds objects, not data")
    run_tool('tools/train.py', SHAPES_CONFIG, *common(shapes_root, work), f'load_from={evil}')
    run_tool('tools/test.py', SHAPES_CONFIG, evil, *common(shapes_root, work))
    MixNet(init_cfg=dict(type='Pretrained', checkpoint=str(evil), prefix='backbone')).init_weights()


def test_config_text_in_a_checkpoint_is_never_evaluated(shapes_root, legit, marker, tmp_path):
    evil = config_payload(legit, marker, tmp_path / 'evil.pth')
    resumed = run_tool('tools/train.py', SHAPES_CONFIG, '--resume', evil, *common(shapes_root, tmp_path / 'a'),
                       f'train_cfg.max_iters={legit["meta"]["iter"] + 1}')
    assert 'resumed epoch: 0, iter: ' in resumed.stdout and 'never evaluated' in resumed.stdout
    run_tool('tools/train.py', SHAPES_CONFIG, *common(shapes_root, tmp_path / 'b'), f'load_from={evil}')
    run_tool('tools/test.py', SHAPES_CONFIG, evil, *common(shapes_root, tmp_path / 'c'))


def test_saved_checkpoints_are_plain_data(trained_work_dir):
    """Every checkpoint mixdet writes loads with torch's weights-only unpickler and no extra allowed globals."""
    for path in trained_work_dir.glob('*.pth'):
        assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
        assert read_checkpoint(path)['message_hub']['format'] == 'mixdet-plain-v1'


def bad_files(legit, tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(legit, good)
    data = good.read_bytes()
    rng = random.Random(0)
    files = {
        'empty': b'',
        'truncated': data[:len(data) // 2],
        'truncated tail': data[:-100],
        'random bytes': bytes(rng.randrange(256) for _ in range(4096)),
        'text': b'{"state_dict": {}}',
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f'{name.replace(" ", "_")}.pth'
        paths[name].write_bytes(content)
    paths['legacy pickle'] = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {}, 'f': os.system}, paths['legacy pickle'], _use_new_zipfile_serialization=False)
    paths['plain pickle'] = tmp_path / 'plain.pkl'
    paths['plain pickle'].write_bytes(pickle.dumps({'state_dict': {}}))
    paths['a list'] = tmp_path / 'list.pth'
    torch.save([1, 2], paths['a list'])
    paths['missing'] = tmp_path / 'missing.pth'
    return paths


def test_unreadable_checkpoints_are_one_line_errors_naming_the_file(legit, tmp_path):
    for name, path in bad_files(legit, tmp_path).items():
        with pytest.raises(CheckpointError) as error:
            read_checkpoint(path)
        message = str(error.value)
        assert str(path) in message and '\n' not in message, (name, message)


def test_a_checkpoint_that_names_a_function_is_refused(tmp_path):
    """The weights-only reader refuses any global outside torch's safe set (no trained checkpoint needed)."""
    path = tmp_path / 'function.pth'
    torch.save({'state_dict': {}, 'hook': os.system}, path)
    with pytest.raises(CheckpointError, match=f'refusing to load checkpoint {path}: it asks to run or build'):
        read_checkpoint(path)


def test_tools_refuse_a_truncated_checkpoint_in_one_line(shapes_root, legit, tmp_path):
    truncated = bad_files(legit, tmp_path)['truncated']
    result = run_tool('tools/test.py', SHAPES_CONFIG, truncated, *common(shapes_root, tmp_path), check=False)
    assert_one_line_refusal(result, truncated, 'cannot read checkpoint')
    result = run_tool('tools/train.py', SHAPES_CONFIG, '--resume', truncated, *common(shapes_root, tmp_path),
                      check=False)
    assert_one_line_refusal(result, truncated, 'cannot read checkpoint')


def test_resuming_from_weights_only_checkpoint_is_refused(shapes_root, trained_work_dir, tmp_path):
    (best,) = trained_work_dir.glob('best_*.pth')
    result = run_tool('tools/train.py', SHAPES_CONFIG, '--resume', best, *common(shapes_root, tmp_path), check=False)
    assert_one_line_refusal(result, best, 'cannot resume from checkpoint')
    assert 'load_from=' in result.stdout
