"""The data-only reader: mmengine's own checkpoints read without re-saving, anything that asks to run code refused
with every such global named, and nothing from a file ever run."""
import copy
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mixdet.checkpoint import CheckpointError, load_state_strictly, read_checkpoint
from mixdet.checkpoint.data_reader import ADMITTED_NAMES
from mixdet.checkpoint.inert import HISTORY_BUFFER, Inert, InertAttribute, is_inert
from mixdet.checkpoint.message_hub import message_hub_state
from mixdet.testing.mmengine_files import (CallsSystem, Evaluates, PlantedHistoryBuffer, marker_code,
                                           mmengine_runner_checkpoint)

from conftest import REPO


@pytest.fixture(scope='module')
def mmengine_file(tmp_path_factory):
    return mmengine_runner_checkpoint(tmp_path_factory.mktemp('mmengine_run'))


def test_mmengine_runner_checkpoints_need_more_than_plain_weights_only(mmengine_file):
    """The premise: mmengine's file names HistoryBuffer and numpy builders, which torch's reader refuses."""
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(mmengine_file)
    assert HISTORY_BUFFER in unsafe and any(name.startswith('numpy') for name in unsafe)


def test_mmengine_runner_checkpoints_are_read_as_data(mmengine_file):
    checkpoint = read_checkpoint(mmengine_file)
    assert set(checkpoint['state_dict']) == {'linear.weight', 'linear.bias'}
    scalars = checkpoint['message_hub']['log_scalars']
    assert scalars and all(is_inert(buffer, HISTORY_BUFFER) for buffer in scalars.values())
    assert checkpoint['meta']['iter'] == 2 and 'param_schedulers' in checkpoint


def test_their_message_hub_is_rebuilt_as_mmengine_had_it(mmengine_file):
    checkpoint = read_checkpoint(mmengine_file)
    state = message_hub_state(checkpoint['message_hub'], str(mmengine_file), HistoryBuffer)
    hub = MessageHub.get_instance('test_data_reader')
    hub.load_state_dict(state)
    original = torch.load(mmengine_file, weights_only=False)['message_hub']  # the trusted file of this test
    for key, buffer in original['log_scalars'].items():
        np.testing.assert_array_equal(hub.get_scalar(key).data[0], buffer.data[0])
        np.testing.assert_array_equal(hub.get_scalar(key).data[1], buffer.data[1])
    assert hub.get_info('iter') == original['runtime_info']['iter']


def crafted(mmengine_file, tmp_path, **planted):
    checkpoint = torch.load(mmengine_file, weights_only=False)  # the trusted file of this test
    checkpoint['meta'].update(planted)
    path = tmp_path / 'crafted.pth'
    torch.save(checkpoint, path)
    return path


def test_the_refusal_names_every_global_outside_the_admitted_ones(mmengine_file, tmp_path, marker):
    path = crafted(mmengine_file, tmp_path, a=CallsSystem(f'touch {marker}'), b=Evaluates(marker_code(marker)))
    with pytest.raises(CheckpointError) as error:
        read_checkpoint(path)
    message = str(error.value)
    assert message == (f'refusing to load checkpoint {path}: it asks to run or build Python objects '
                       f'(builtins.eval, posix.system), which a checkpoint never needs; nothing from it was run')


def test_a_planted_history_buffer_runs_nothing(mmengine_file, tmp_path, marker):
    """The plant needs getattr and a deep copy to run; the reader's getattr only records, the hub gets fresh buffers."""
    path = crafted(mmengine_file, tmp_path)
    checkpoint = torch.load(path, weights_only=False)  # the trusted file of this test
    checkpoint['message_hub']['log_scalars']['planted'] = PlantedHistoryBuffer(marker_code(marker))
    torch.save(checkpoint, path)
    read = read_checkpoint(path)
    copy.deepcopy(read)
    hub = MessageHub.get_instance('test_a_planted_history_buffer_runs_nothing')
    hub.load_state_dict(message_hub_state(read['message_hub'], str(path), HistoryBuffer))
    copy.deepcopy(hub.state_dict())
    assert hub.get_scalar('planted').data[0].tolist() == [0.0]


def test_a_history_buffer_with_odd_state_is_not_resumed(mmengine_file):
    state = read_checkpoint(mmengine_file)['message_hub']
    key = next(iter(state['log_scalars']))
    state['log_scalars'][key].state['_log_history'] = np.array(['text'])
    with pytest.raises(CheckpointError, match=f'message-hub scalar {key!r} is not a log history'):
        message_hub_state(state, 'x.pth', HistoryBuffer)


def test_an_object_in_the_runtime_info_is_not_resumed(mmengine_file):
    state = read_checkpoint(mmengine_file)['message_hub']
    state['runtime_info']['odd'] = [Inert()]
    with pytest.raises(CheckpointError, match=r"runtime info \['odd'\] holds objects"):
        message_hub_state(state, 'x.pth', HistoryBuffer)


def resave(src, dst):
    return subprocess.run([sys.executable, str(REPO / 'tools/model_converters/resave_checkpoint.py'), str(src),
                           str(dst)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


def test_resave_turns_an_mmengine_checkpoint_into_plain_data(mmengine_file, tmp_path):
    result = resave(mmengine_file, tmp_path / 'plain.pth')
    assert result.returncode == 0, result.stdout
    assert torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / 'plain.pth') == []
    plain = torch.load(tmp_path / 'plain.pth', weights_only=True)
    assert plain['message_hub']['format'] == 'mixdet-plain-v1'


def test_resave_refuses_a_payload_and_runs_nothing(mmengine_file, tmp_path, marker):
    path = crafted(mmengine_file, tmp_path, a=CallsSystem(f'touch {marker}'))
    result = resave(path, tmp_path / 'out.pth')
    assert result.returncode != 0 and 'Traceback' not in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith(
        '(posix.system), which a checkpoint never needs; nothing from it was run')
    assert not os.path.exists(tmp_path / 'out.pth')


@pytest.mark.parametrize('key, value, words', [
    ('best_score', 'high', "best_score='high' is not a number"),
    ('best_score_coco/bbox_mAP', None, "best_score_coco/bbox_mAP=None is not a number"),
    ('iter', 2.5, 'iter=2.5 is not an int'),
    ('best_ckpt', 7, 'best_ckpt=7 is not a path'),
    ('keep_ckpt_ids', 'all', "keep_ckpt_ids='all' is not a list of ints"),
])
def test_runtime_info_of_the_wrong_type_is_refused_before_resuming(mmengine_file, key, value, words):
    state = read_checkpoint(mmengine_file)['message_hub']
    state['runtime_info'][key] = value
    with pytest.raises(CheckpointError, match=f'message-hub runtime info {re.escape(words)}$'):
        message_hub_state(state, 'x.pth', HistoryBuffer)


def test_weights_with_nan_are_refused(tmp_path):
    model = torch.nn.Linear(2, 2)
    state = model.state_dict()
    state['bias'][0] = float('nan')
    with pytest.raises(CheckpointError, match=r'^checkpoint w.pth: bias holds NaN or infinite values'):
        load_state_strictly(torch.nn.Linear(2, 2), state, 'w.pth', 'Linear')


def test_the_admitted_globals_are_exactly_these():
    """One more admitted class or function would widen what a file can build: this list is the contract."""
    dtype_classes = {f'numpy.dtypes.{cls.__qualname__}' for cls in vars(np.dtypes).values()
                     if isinstance(cls, type) and issubclass(cls, np.dtype)}
    assert ADMITTED_NAMES == {
        'numpy.ndarray', 'numpy.dtype', 'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
        'numpy.core.multiarray._reconstruct', 'numpy.core.multiarray.scalar',
        'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr', *dtype_classes}


def test_each_admitted_stand_in_only_records(tmp_path, marker):
    """A crafted file that uses every admitted global, with hostile arguments, builds data and runs nothing."""
    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {}, 'hub': PlantedHistoryBuffer(marker_code(marker)), 'array': np.arange(3),
                'scalar': np.float64(1.5), 'dtype': np.dtype('int64'), 'objects': np.array([{'a': 1}], dtype=object)},
               path)
    read = read_checkpoint(path)
    assert is_inert(read['hub'], HISTORY_BUFFER) and isinstance(read['hub'].state['__reduce_ex__'], InertAttribute)
    assert read['array'].tolist() == [0, 1, 2] and read['scalar'] == 1.5 and read['objects'][0] == {'a': 1}
    copy.deepcopy(read)
    repr(read)
