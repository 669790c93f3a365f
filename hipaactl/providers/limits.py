"""Bounded HTTP: a total deadline per request and a cap on reply bodies (SPEC sections 4, 8).

Socket timeouts bound each ``recv`` only: a server that sends one byte just inside the
read timeout, forever, would hold a run for ever. Two guards close that hole:

- a watchdog: while a request runs on a thread, the connection registers its socket with
  one shared watchdog thread when it starts waiting for the reply, and the watchdog shuts
  the socket down at the deadline, so a status line or headers sent a byte at a time end
  there too; and
- ``read_body`` streams the body, checks the elapsed time after every chunk and counts
  the bytes *after* decompression, so a gzip bomb stops at the cap instead of filling
  memory (urllib3 >= 2.6 inflates at most the amount asked for per read).

Both ``providers.ctm.http`` (the CTM API) and ``report.alerts`` (webhooks) use them.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
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


@dataclass(eq=False)
class _Watch:
    deadline: float  # on ``clock``
    clock: Clock
    sock: socket.socket | None = None  # set once the request waits for its reply
    done: bool = False  # the request finished: nothing to cut
    fired: bool = False
    cancelled: threading.Event | None = None  # set: cut as soon as it is armed


class _Watchdog:
    """One thread for every armed request: it sleeps until the earliest deadline and
    shuts that request's socket down if it is still running. (A timer thread per request
    cost about a millisecond of start-up on every request.)"""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, watch: _Watch, sock: socket.socket) -> None:
        # The heap is ordered on the real monotonic clock; ``watch.clock`` may be a
        # test's, so the wait is converted to seconds from now.
        due = time.monotonic() + max(0.0, watch.deadline - watch.clock())
        with self._condition:
            watch.sock = sock
            heapq.heappush(self._heap, (due, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="hipaactl-deadlines", daemon=True
                )
                self._thread.start()
            self._condition.notify()
            cut_now = watch.cancelled is not None and watch.cancelled.is_set()
            if cut_now:
                watch.fired = True
        if cut_now:  # armed after cut_all ran: the run is already being interrupted
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut_all(self) -> None:
        """Shut down the socket of every request still waiting for its reply, now."""
        with self._condition:
            running = [w for _, _, w in self._heap if not w.done and w.sock is not None]
            for watch in running:
                watch.fired = True
        for watch in running:
            with contextlib.suppress(OSError):
                watch.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]

    def disarm(self, watch: _Watch) -> None:
        with self._condition:
            watch.done = True  # left in the heap; skipped when its time comes

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._condition.wait(wait)
                _, _, watch = heapq.heappop(self._heap)
                if watch.done or watch.sock is None:
                    continue
                watch.fired = True
                sock = watch.sock
            with contextlib.suppress(OSError):  # already closed: nothing left to stop
                sock.shutdown(socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()


def cut_every_request() -> None:
    """End every request of this process that is waiting for its reply, as if its
    deadline had passed: for a run that is being interrupted, so no worker is left
    waiting out a server that does not answer."""
    _WATCHDOG.cut_all()


def _arm(connection: HTTPConnection) -> None:
    """Called as the connection starts waiting for the reply: shut its socket down at the
    deadline of the request this thread is sending (if any)."""
    watch: _Watch | None = getattr(_armed, "watch", None)
    sock = connection.sock
    if watch is None or sock is None or watch.sock is not None:
        return
    _WATCHDOG.arm(watch, sock)


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
def watched(
    seconds: float, clock: Clock = time.monotonic, cancelled: threading.Event | None = None
) -> Iterator[Callable[[], bool]]:
    """Run the ``with`` block (one request through a ``WatchedAdapter``, body included)
    under a total deadline of ``seconds``. Yields a function that says whether the
    deadline has passed, so the caller can tell a cut-off socket from a server fault.
    Once ``cancelled`` is set, the request is cut as soon as it waits for its reply
    (``cut_every_request`` cuts those already waiting)."""
    watch = _Watch(clock() + seconds, clock, cancelled=cancelled)
    _armed.watch = watch
    try:
        yield lambda: watch.fired or clock() >= watch.deadline
    finally:
        _armed.watch = None
        _WATCHDOG.disarm(watch)


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
