"""A hostile local HTTP server for the network tests: slow drip, gzip bomb, redirect, echo.

It listens on 127.0.0.1, port 0 (a free port: no test depends on a fixed one), and
answers every request the way its ``behaviour`` says. Every request line and body is
recorded, so a test can also see what a client sent (the echo). The drips stop as soon as
the client hangs up or the server is shut down, and never sleep more than ``TICK``.
"""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TICK = 0.02  # seconds between dripped bytes

Behaviour = Callable[["HostileHandler"], None]


@dataclass
class Seen:
    method: str
    path: str
    body: bytes


@dataclass
class Record:
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seen: Seen) -> None:
        with self.lock:
            self.requests.append(seen)


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), HostileHandler)
        self.behaviour = behaviour
        self.record = Record()
        self.stopping = threading.Event()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.origin}/api/v1"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients hanging up mid-drip is the point of these tests."""


class HostileHandler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.record.add(Seen(self.command, self.path, body))
        self.close_connection = True
        self.server.behaviour(self)

    def do_GET(self) -> None:
        self._any()

    def do_POST(self) -> None:
        self._any()

    def do_PUT(self) -> None:
        self._any()

    def do_DELETE(self) -> None:
        self._any()

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def drip(self, data: bytes) -> None:
        """Send ``data`` one byte per ``TICK`` until done, hung up on, or shut down."""
        for index in range(len(data)):
            if self.server.stopping.is_set():
                return
            try:
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
            except OSError:
                return
            time.sleep(TICK)


# -- behaviours ---------------------------------------------------------------------------


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Behaviour:
    """A plain reply: ``body`` as JSON (bytes are sent as they are)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")

    def behave(handler: HostileHandler) -> None:
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return behave


def drip_body(size: int = 10_000) -> Behaviour:
    """Headers at once, then a body of ``size`` bytes one byte per tick: every read is
    well inside any socket timeout, the whole never is."""

    def behave(handler: HostileHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        handler.wfile.flush()
        handler.drip(b" " * size)

    return behave


def drip_headers(count: int = 10_000) -> Behaviour:
    """The status line, then header bytes one per tick: the reply never gets started."""

    def behave(handler: HostileHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        handler.drip(b"X-Slow: " + b"a" * count)

    return behave


def gzip_bomb(decompressed: int) -> Behaviour:
    """A small gzip body that inflates to ``decompressed`` zero bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as packed:
        block = b"0" * 1_000_000
        left = decompressed
        while left > 0:
            packed.write(block[: min(left, len(block))])
            left -= len(block)
    return reply(200, buffer.getvalue(), {"Content-Encoding": "gzip"})


def redirect(location: str, status: int = 307) -> Behaviour:
    def behave(handler: HostileHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return behave


@contextmanager
def hostile(behaviour: Behaviour) -> Iterator[HostileServer]:
    """A hostile server serving from a background thread for the ``with`` block."""
    server = HostileServer(behaviour)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
