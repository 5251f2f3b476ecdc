"""A scripted HTTP server on loopback for testing the HTTP embedders without a network."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, Any, dict[str, str]]
"""(status, JSON body or raw bytes, extra headers)."""


@dataclass
class Stub:
    url: str
    handler: Callable[[dict[str, Any], int], Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def stub_server(handler: Callable[[dict[str, Any], int], Reply]) -> Iterator[Stub]:
    """Serve ``handler(request, number)`` for every POST; ``request`` holds the path,
    headers and parsed JSON body; ``number`` counts from 0."""
    stub = Stub("", handler)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            with lock:
                number = len(stub.requests)
                stub.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": body})
            status, payload, headers = stub.handler(stub.requests[number], number)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
