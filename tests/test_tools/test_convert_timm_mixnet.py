"""tools/model_converters/convert_timm_mixnet.py: every bad input is one line naming it, and nothing runs."""
import io
import os
import pickle
import runpy
import sys

import pytest
import torch

from mixdet.models.backbones import MixNet

from conftest import REPO

TOOL = str(REPO / 'tools/model_converters/convert_timm_mixnet.py')


class _System:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def run(monkeypatch, *args):
    """The tool's ``main`` in this process; returns what it exits with (its message)."""
    monkeypatch.setattr(sys, 'argv', [TOOL, *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(TOOL, run_name='__main__')
    return exit_.value.code


def saved(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def bad_inputs(tmp_path, marker):
    good = saved({'conv_stem.weight': torch.zeros(16, 3, 3, 3)})
    contents = {
        'empty.pth': b'', 'text.pth': b'hello world', 'json.pth': b'{"state_dict": {}}', 'html.pth': b'<html/>',
        'random.pth': os.urandom(4096), 'truncated.pth': good[:len(good) // 2], 'tail_cut.pth': good[:-50],
        'plain_pickle.pth': pickle.dumps({'a': 1}), 'a_list.pth': saved([1, 2]), 'a_tensor.pth': saved(torch.ones(1)),
        'strings.pth': saved({'a': 'b'}), 'int_keys.pth': saved({1: torch.ones(1)}),
        'nested_strings.pth': saved({'state_dict': {'a': 'b'}}), 'resnet.pth': saved({'fc.weight': torch.zeros(2)}),
        'stem_only.pth': good, 'payload.pth': saved({'x': _System(f'touch {marker}')}),
        'garbage.safetensors': b'\x08\x00\x00\x00\x00\x00\x00\x00{"a": 1}garbage',
        'empty.safetensors': b'',
    }
    paths = []
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content)
        paths.append(tmp_path / name)
    return paths + [tmp_path / 'missing.pth', tmp_path]


def test_every_bad_input_is_one_line_naming_it(monkeypatch, tmp_path):
    marker = tmp_path / 'EXECUTED'
    for path in bad_inputs(tmp_path, marker):
        message = run(monkeypatch, path, tmp_path / 'out.pth')
        assert isinstance(message, str) and '\n' not in message and str(path) in message, (path, message)
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()


def test_an_unwritable_destination_is_one_line(monkeypatch, tmp_path):
    src = tmp_path / 'mixnet_s.pth'
    torch.save(MixNet(arch='s', out_indices=(6,)).state_dict(), src)  # timm's keys, without the classifier
    (tmp_path / 'file').write_text('x')
    message = run(monkeypatch, src, tmp_path / 'file' / 'out.pth')
    assert message.startswith(f'cannot write {tmp_path / "file" / "out.pth"}: ') and '\n' not in message


@pytest.mark.parametrize('flag, settings', [
    ([], "'padding': 'symmetric', 'norm_cfg': {'type': 'BN', 'eps': 1e-05}"),
    (['--tf-same'], "'padding': 'same', 'norm_cfg': {'type': 'BN', 'eps': 0.001}"),
])
def test_the_backbone_settings_the_weights_need_are_printed(monkeypatch, tmp_path, capsys, flag, settings):
    src = tmp_path / 'mixnet_s.pth'
    torch.save(MixNet(arch='s', out_indices=(6,)).state_dict(), src)
    monkeypatch.setattr(sys, 'argv', [TOOL, str(src), str(tmp_path / 'out.pth'), *flag])
    runpy.run_path(TOOL, run_name='__main__')
    assert settings in capsys.readouterr().out
