"""``Pretrained`` with timm's own MixNet checkpoints: by URL (downloaded once into the hub cache) or path,
``.pth`` or ``.safetensors``, classifier dropped, everything else strict.

The checkpoints are state_dicts of geffnet reference MixNets (timm's predecessor, same keys) with random
weights, served by a local HTTP server; see test_timm_parity.py for the reference.
"""
import hashlib
import io

import pytest
import torch
from mmdet.registry import MODELS
from safetensors.torch import save_file
from test_timm_parity import TAPS, random_reference, reference_taps

import mixdet.models.backbones.mixnet as mixnet
import mixdet.modules  # noqa: F401  registers MixNet in mmdet's MODELS
from mixdet.checkpoint import CheckpointError
from mixdet.checkpoint.download import cache_path


@pytest.fixture
def logs(monkeypatch):
    lines = []
    monkeypatch.setattr(mixnet, 'print_log', lambda message, **kwargs: lines.append(message))
    return lines


def serve(server, name: str, body: bytes) -> str:
    server.files[f'/v0.1-weights/{name}'] = body
    return f'{server.url}/v0.1-weights/{name}'


def hashed(stem: str, body: bytes) -> str:
    """timm's file naming: ``stem-<first 8 hex digits of the sha256>.pth``."""
    return f'{stem}-{hashlib.sha256(body).hexdigest()[:8]}.pth'


def pth_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def build(checkpoint: str, arch: str = 's', out_indices=TAPS):
    return MODELS.build(dict(type='MixNet', arch=arch, out_indices=out_indices,
                             init_cfg=dict(type='Pretrained', checkpoint=checkpoint)))


def assert_reproduces(model, reference, taps=TAPS):
    """The model's taps equal the reference's, in float64."""
    model, reference = model.double().eval(), reference.double().eval()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = dict(zip(TAPS, reference_taps(reference, x)))
        got = model(x)
    assert len(got) == len(taps)
    for tap, value in zip(taps, got):
        torch.testing.assert_close(value, expected[tap], rtol=1e-9, atol=1e-9, msg=lambda m: f'tap {tap}: {m}')


def test_timm_checkpoint_from_url_reproduces_timm_and_is_cached(server, hub, logs):
    reference = random_reference('mixnet_s', seed=11)
    state = reference.state_dict()
    assert {'classifier.weight', 'classifier.bias', 'conv_head.weight'} <= set(state)
    body = pth_bytes(state)
    url = serve(server, hashed('mixnet_s', body), body)

    model = build(url)
    model.init_weights()
    assert server.requests == [f'/v0.1-weights/{hashed("mixnet_s", body)}']
    assert cache_path(url).startswith(str(hub)) and open(cache_path(url), 'rb').read() == body
    assert [line for line in logs if 'classifier' in line] == [logs[-1]] and 'ignored 2 keys' in logs[-1]

    again = build(url)
    again.init_weights()
    assert len(server.requests) == 1, 'the cached file should be read, not downloaded again'
    torch.testing.assert_close(again.state_dict(), model.state_dict(), rtol=0, atol=0)
    assert_reproduces(model, reference)


@pytest.mark.parametrize('where', ['path', 'url'])
def test_timm_safetensors_without_head(where, server, tmp_path):
    reference = random_reference('mixnet_s', seed=12)
    path = tmp_path / 'mixnet_s.safetensors'
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    checkpoint = str(path) if where == 'path' else serve(server, 'mixnet_s.safetensors', path.read_bytes())
    model = build(checkpoint, out_indices=(2, 4, 5))  # head not built: conv_head/bn2 and classifier dropped
    model.init_weights()
    assert_reproduces(model, reference, taps=(2, 4, 5))


@pytest.mark.parametrize('where', ['path', 'url'])
def test_another_variant_is_refused(where, server, tmp_path):
    body = pth_bytes(random_reference('mixnet_m', seed=13).state_dict())
    path = tmp_path / hashed('mixnet_m', body)
    path.write_bytes(body)
    checkpoint = str(path) if where == 'path' else serve(server, path.name, body)
    with pytest.raises(CheckpointError, match=r'does not fit MixNet \(.*shape: \[') as error:
        build(checkpoint).init_weights()
    message = str(error.value)
    assert message.startswith(f'checkpoint {checkpoint} does not fit') and '\n' not in message
    assert message.endswith('It holds MixNet-M weights, this backbone is MixNet-S.')


def test_missing_url_is_refused(server, hub):
    url = f'{server.url}/v0.1-weights/nope.pth'
    with pytest.raises(CheckpointError, match='HTTP Error 404') as error:
        build(url).init_weights()
    assert str(error.value).startswith(f'cannot download checkpoint {url}: ') and '\n' not in str(error.value)
    assert not any(path.is_file() for path in hub.rglob('*'))


@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
def test_non_checkpoint_response_is_refused_and_not_cached(suffix, server, hub):
    url = serve(server, f'page{suffix}', b'<html><body>Moved</body></html>')
    for attempt in (1, 2):
        with pytest.raises(CheckpointError) as error:
            build(url).init_weights()
        assert str(error.value).startswith(f'cannot read checkpoint {url}: ') and '\n' not in str(error.value)
        assert len(server.requests) == attempt, 'an unusable download must not stay cached'
    assert not any(path.is_file() for path in hub.rglob('*'))


def test_garbage_safetensors_file_is_refused(tmp_path):
    path = tmp_path / 'mixnet_s.safetensors'
    path.write_bytes(b'\x08\x00\x00\x00\x00\x00\x00\x00{"a": 1}' + b'garbage' * 10)
    with pytest.raises(CheckpointError) as error:
        build(str(path)).init_weights()
    message = str(error.value)
    assert message.startswith(f'cannot read checkpoint {path}: not a safetensors file') and '\n' not in message
