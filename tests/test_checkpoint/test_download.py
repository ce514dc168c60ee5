"""Checkpoint URLs: cached by the whole URL, within a timeout and a size limit, never half-written, and only
mixdet's own files ever removed."""
import hashlib
import io
import os
import subprocess
import sys
import time

import pytest
import torch

from mixdet.checkpoint import CheckpointError, read_source
from mixdet.checkpoint.download import cache_path
from mixdet.testing.http_server import Endless, Silent, Slow, serve


def pth_bytes(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def hashed_name(stem: str, body: bytes) -> str:
    """``stem-<first 8 hex of sha256>.pth``, torch.hub's (and timm's) naming."""
    return f'{stem}-{hashlib.sha256(body).hexdigest()[:8]}.pth'


def one_line(error) -> str:
    message = str(error.value)
    assert '\n' not in message, message
    return message


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob('*') if p.is_file())


def test_a_url_is_downloaded_once_and_read_from_the_cache(server, hub):
    body = pth_bytes({'state_dict': {'w': torch.ones(2)}})
    url = serve(server, '/w/' + hashed_name('weights', body), body)
    assert read_source(url)['state_dict']['w'].tolist() == [1.0, 1.0]
    assert read_source(url)['state_dict']['w'].tolist() == [1.0, 1.0]
    assert len(server.requests) == 1
    assert os.path.isfile(cache_path(url)) and cache_path(url).startswith(str(hub))


def test_the_cache_is_keyed_by_the_whole_url(server, hub):
    """A file of the same name from another host never stands in for the official one."""
    official, other = pth_bytes({'w': torch.zeros(1)}), pth_bytes({'w': torch.ones(1)})
    first = serve(server, '/official/weights.pth', official)
    second = serve(server, '/elsewhere/weights.pth', other)
    assert read_source(second)['w'].item() == 1.0
    assert read_source(first)['w'].item() == 0.0
    assert cache_path(first) != cache_path(second) and len(server.requests) == 2


def test_a_hash_in_the_name_is_checked(server, hub):
    body = pth_bytes({'w': torch.ones(1)})
    url = serve(server, '/w/weights-0123abcd.pth', body)
    with pytest.raises(CheckpointError) as error:
        read_source(url)
    assert one_line(error) == f'checkpoint {url} does not match the hash 0123abcd in its name; not used'
    assert files_under(hub) == []


def test_a_matching_copy_in_the_shared_hub_folder_is_used_and_a_stranger_left_alone(server, hub):
    body = pth_bytes({'w': torch.ones(1)})
    name = hashed_name('weights', body)
    shared = hub / 'checkpoints' / name
    shared.parent.mkdir(parents=True)
    shared.write_bytes(body)
    url = serve(server, '/w/' + name, body)
    assert read_source(url)['w'].item() == 1.0 and server.requests == []
    # a user's own file of that name that is not the published one: not used, not touched
    shared.write_bytes(b'my own notes')
    assert read_source(url)['w'].item() == 1.0 and len(server.requests) == 1
    assert shared.read_bytes() == b'my own notes'


def test_a_silent_server_times_out(server, hub, monkeypatch):
    monkeypatch.setenv('MIXDET_DOWNLOAD_TIMEOUT', '0.5')
    url = serve(server, '/w/silent.pth', Silent())
    with pytest.raises(CheckpointError) as error:
        read_source(url)
    assert one_line(error).startswith(f'cannot download checkpoint {url}: ') and 'timed out' in str(error.value)
    assert files_under(hub) == []


def test_an_endless_stream_stops_at_the_size_limit(server, hub, monkeypatch):
    monkeypatch.setenv('MIXDET_DOWNLOAD_MAX_MB', '2')
    url = serve(server, '/w/endless.pth', Endless())
    with pytest.raises(CheckpointError) as error:
        read_source(url)
    assert one_line(error) == f'checkpoint {url} is larger than MIXDET_DOWNLOAD_MAX_MB=2 MB; download stopped'
    assert files_under(hub) == [], 'the partial download must be removed'


def test_a_declared_size_over_the_limit_is_refused_before_downloading(server, hub, monkeypatch):
    monkeypatch.setenv('MIXDET_DOWNLOAD_MAX_MB', '1')
    url = serve(server, '/w/big.pth', bytes(3 << 20))
    with pytest.raises(CheckpointError, match=r'is 3 MB, more than MIXDET_DOWNLOAD_MAX_MB=1'):
        read_source(url)
    assert files_under(hub) == []


@pytest.mark.parametrize('value', ['0', '-1', 'abc', 'inf', 'nan'])
def test_bad_download_settings_are_one_line(server, hub, monkeypatch, value):
    monkeypatch.setenv('MIXDET_DOWNLOAD_TIMEOUT', value)
    url = serve(server, '/w/x.pth', pth_bytes({}))
    with pytest.raises(CheckpointError) as error:
        read_source(url)
    assert one_line(error) == f'MIXDET_DOWNLOAD_TIMEOUT={value!r} is not a positive number'


@pytest.mark.parametrize('path', ['/w/..', '/w/.', '/', '/w/', '/w/.hidden.pth', '/w/%2e%2e'])
def test_a_url_without_a_plain_file_name_is_one_line_and_leaves_nothing(server, hub, path):
    url = server.url + path
    with pytest.raises(CheckpointError) as error:
        read_source(url)
    assert one_line(error).startswith(f'checkpoint URL {url} does not end in a plain file name')
    assert files_under(hub) == [] and server.requests == []


def test_an_unusable_download_is_never_cached(server, hub):
    url = serve(server, '/w/page.pth', b'<html>moved</html>')
    for attempt in (1, 2):
        with pytest.raises(CheckpointError) as error:
            read_source(url)
        assert one_line(error).startswith(f'cannot read checkpoint {url}: ')
        assert len(server.requests) == attempt
    assert files_under(hub) == []


def test_partial_files_of_dead_downloads_are_removed_and_live_ones_kept(server, hub):
    body = pth_bytes({'w': torch.ones(1)})
    url = serve(server, '/w/weights.pth', body)
    folder, name = os.path.split(cache_path(url))
    os.makedirs(folder)
    dead, live = os.path.join(folder, f'.{name}.partial-1-dead'), os.path.join(folder, f'.{name}.partial-2-live')
    other = os.path.join(folder, 'notes.txt')
    for path in (dead, live, other):
        open(path, 'wb').close()
    old = time.time() - 3600
    os.utime(dead, (old, old))
    os.utime(other, (old, old))
    read_source(url)
    assert not os.path.exists(dead) and os.path.exists(live) and os.path.exists(other)


def test_a_killed_download_leaves_nothing_the_next_run_trusts(server, hub):
    body = pth_bytes({'w': torch.ones(1 << 16)})
    url = serve(server, '/w/big.pth', Slow(body))
    code = f'from mixdet.checkpoint import read_source; read_source({url!r})'
    proc = subprocess.Popen([sys.executable, '-c', code], env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    folder = os.path.dirname(cache_path(url))
    deadline = time.time() + 300
    while not (os.path.isdir(folder) and os.listdir(folder)) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, 'the download ended before it could be killed'
    assert any('.partial' in name for name in os.listdir(folder)), os.listdir(folder)  # killed mid-stream
    proc.kill()
    proc.wait(timeout=60)
    assert not os.path.exists(cache_path(url)), 'a killed download must not look complete'
    server.files['/w/big.pth'] = body
    assert read_source(url)['w'].shape == (1 << 16,)
