"""A throwaway HTTP server on 127.0.0.1 for network-boot tests."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(
    directory: Path, credentials: tuple[str, str] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Serve `directory` on 127.0.0.1; yield the port and the paths requested so far.

    With `credentials` (user, password) every request needs HTTP basic auth.
    """
    requested: list[str] = []
    expected = None
    if credentials:
        expected = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            requested.append(self.path)

        def send_head(self):  # type: ignore[no-untyped-def]
            if expected and self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="tests"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return super().send_head()

    handler = functools.partial(Handler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requested
    finally:
        server.shutdown()
        thread.join()
