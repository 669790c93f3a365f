"""Bounded HTTP: a total deadline per request and a cap on reply bodies (SPEC sections 4, 8).

Socket timeouts bound each ``recv`` only: a server that sends one byte just inside the
read timeout, forever, would hold a run for ever. Two guards close that hole:

- a watchdog: while a request runs on a thread, a timer armed when the connection starts
  waiting for the reply shuts the socket down at the deadline, so a status line or headers
  sent a byte at a time end there too; and
- ``read_body`` streams the body, checks the elapsed time after every chunk and counts
  the bytes *after* decompression, so a gzip bomb stops at the cap instead of filling
  memory (urllib3 >= 2.6 inflates at most the amount asked for per read).

Both ``providers.ctm.http`` (the CTM API) and ``report.alerts`` (webhooks) use them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error

MAX_BODY_BYTES = 50_000_000  # SPEC section 4: "replies larger than 50 MB ... are errors"
CHUNK_BYTES = 64 * 1024

Clock = Callable[[], float]

_armed = threading.local()  # the deadline of the request this thread is sending


class BodyTooLargeError(Exception):
    """The reply passed ``limit`` bytes (after decompression)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit:,} bytes")
        self.limit = limit


class DeadlineExceededError(Exception):
    """The request was still running when its total deadline passed."""


class BodyUnreadableError(Exception):
    """The body was cut off, could not be decoded, or the socket failed mid-body."""


@dataclass
class _Watch:
    deadline: float  # on ``clock``
    clock: Clock
    timer: threading.Timer | None = None
    fired: bool = False


def _arm(connection: HTTPConnection) -> None:
    """Called as the connection starts waiting for the reply: shut its socket down at the
    deadline of the request this thread is sending (if any)."""
    watch: _Watch | None = getattr(_armed, "watch", None)
    sock = connection.sock
    if watch is None or sock is None or watch.timer is not None:
        return

    def fire() -> None:
        watch.fired = True
        with contextlib.suppress(OSError):  # already closed: nothing left to stop
            sock.shutdown(socket.SHUT_RDWR)

    watch.timer = threading.Timer(max(0.0, watch.deadline - watch.clock()), fire)
    watch.timer.daemon = True
    watch.timer.start()


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _arm(self)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _arm(self)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections honour the deadline set by ``watched``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """requests' hook for building the pool manager: the same, with pools whose
        connections arm the deadline watchdog when they wait for a reply."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


@contextmanager
def watched(seconds: float, clock: Clock = time.monotonic) -> Iterator[Callable[[], bool]]:
    """Run the ``with`` block (one request through a ``WatchedAdapter``, body included)
    under a total deadline of ``seconds``. Yields a function that says whether the
    deadline has passed, so the caller can tell a cut-off socket from a server fault."""
    watch = _Watch(clock() + seconds, clock)
    _armed.watch = watch
    try:
        yield lambda: watch.fired or clock() >= watch.deadline
    finally:
        _armed.watch = None
        if watch.timer is not None:
            watch.timer.cancel()


def timeouts_within(timeout: tuple[float, float], seconds: float) -> tuple[float, float]:
    """(connect, read) socket timeouts no longer than the whole deadline."""
    connect, read = timeout
    return (min(connect, seconds), min(read, seconds))


def read_body(
    response: requests.Response,
    *,
    expired: Callable[[], bool],
    limit: int = MAX_BODY_BYTES,
) -> bytes:
    """The body of a streamed (``stream=True``) reply, decoded per its Content-Encoding.

    Raises ``BodyTooLargeError`` past ``limit`` bytes (the declared Content-Length is checked
    first, then the decoded bytes as they arrive), ``DeadlineExceededError`` once ``expired()``
    says so between chunks, and ``BodyUnreadableError`` when the body is cut off or cannot be
    decoded.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLargeError(limit)
    parts: list[bytes] = []
    size = 0
    raw = response.raw
    try:
        while True:
            if expired():
                raise DeadlineExceededError
            chunk = raw.read1(CHUNK_BYTES, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError(limit)
            parts.append(chunk)
    except (Urllib3Error, OSError, ValueError) as error:
        if expired():
            raise DeadlineExceededError from None
        raise BodyUnreadableError(type(error).__name__) from None
    if expired():
        raise DeadlineExceededError
    return b"".join(parts)
