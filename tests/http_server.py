"""A local HTTP server for download tests: serves ``server.files`` (path -> bytes or a behaviour), records requests.

Test modules import the fixtures ``server`` and ``hub`` as ``server_fixture`` and ``hub_fixture``.
"""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

PROXY_VARIABLES = ('http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY')


class Silent:
    """Accepts the request and never answers (until the server stops)."""


class Endless:
    """Answers 200 without Content-Length and streams zeros for ever."""


class Slow:
    """Answers ``body`` with its Content-Length, 4 KiB every 50 ms."""

    def __init__(self, body: bytes):
        self.body = body


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
        elif isinstance(body, Silent):
            while not self.server.stopping.wait(0.05):
                pass
        elif isinstance(body, Endless):
            self.send_response(200)
            self.end_headers()
            chunk = bytes(1 << 16)
            while not self.server.stopping.is_set():
                self.wfile.write(chunk)
        elif isinstance(body, Slow):
            self.send_response(200)
            self.send_header('Content-Length', str(len(body.body)))
            self.end_headers()
            for start in range(0, len(body.body), 4096):
                if self.server.stopping.wait(0.05):
                    return
                self.wfile.write(body.body[start:start + 4096])
        else:
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(name='server')
def server_fixture():
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.daemon_threads = True
    httpd.files, httpd.requests, httpd.stopping = {}, [], threading.Event()
    httpd.url = f'http://127.0.0.1:{httpd.server_address[1]}'
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.stopping.set()
    time.sleep(0.1)
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def serve(server, path: str, body) -> str:
    server.files[path] = body
    return server.url + path


@pytest.fixture(name='hub')
def hub_fixture(tmp_path, monkeypatch):
    """torch's hub folder under tmp_path; no proxy between the test and its server."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    hub_dir = tmp_path / 'torch' / 'hub'
    assert str(torch.hub.get_dir()) == str(hub_dir), 'torch.hub.set_dir was called elsewhere; TORCH_HOME is ignored'
    return hub_dir
