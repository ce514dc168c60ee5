"""A local HTTP server for download tests: serves ``server.files`` (path -> bytes or a behaviour), records requests.

tests/conftest.py wraps it in the fixtures ``server`` (:func:`running_server`) and ``hub`` (torch's hub folder in a
temporary directory, no proxy: :data:`PROXY_VARIABLES`).
"""
from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

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


@contextlib.contextmanager
def running_server() -> Iterator[ThreadingHTTPServer]:
    """A server on a free local port with ``files`` (path -> body), ``requests`` (paths asked for) and ``url``;
    stopped, its endless and silent answers ended, on leaving the block."""
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.daemon_threads = True
    httpd.files, httpd.requests, httpd.stopping = {}, [], threading.Event()
    httpd.url = f'http://127.0.0.1:{httpd.server_address[1]}'
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.stopping.set()
        time.sleep(0.1)
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def serve(server, path: str, body) -> str:
    """Serve ``body`` (bytes or a behaviour) at ``path``; its URL."""
    server.files[path] = body
    return server.url + path
