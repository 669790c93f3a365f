"""One limiter shared by every worker, so the whole run stays under ``rate_limit``.

A bucket of capacity ``burst`` refilled at ``rate`` tokens per second lets through at
most ``rate * T + burst`` requests in any window of ``T`` seconds. CTM and the sandbox
simulator count requests per second, so ``limiter_for`` picks:

- ``burst = 1``: requests are spaced evenly; a larger burst only helps a client that
  idles, and a reconciler's reads are a steady stream.
- ``rate = 0.97 * rate_limit``: then any one-second window holds at most
  ``0.97 R + 1`` requests, which is below ``R`` for ``R >= 34`` and, for a whole-number
  ``R``, ``floor(0.97 R) + 1 <= R`` always. At ``R = 200`` that leaves 5 requests (25 ms)
  of slack for the jitter between taking a token and the request reaching the server,
  so the server's limiter never answers 429 to our own traffic; it costs 3% of
  throughput.

A bucket bounds when tokens are *taken*, not when requests are *sent*: a worker that
wakes late from its wait (the GIL, a garbage collection, a busy machine) still sends,
just before the worker whose slot came next, and a late worker then crowds its
neighbours' seconds. Measured against the simulator at 100/s, that alone put 101 sends
into a one-second window and drew 429s. So ``limiter_for`` puts a ``SendWindow`` behind
the bucket: it allows the bucket's own bound, ``floor(0.97 R) + 1`` requests, in any
second of the times they actually leave, whatever the scheduler did to the workers before.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

SAFETY_MARGIN = 0.97
DEFAULT_BURST = 1


class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until one more request may be sent."""
        ...


class TokenBucket:
    """A thread-safe token bucket. ``acquire`` reserves the next free slot under a lock
    and sleeps outside it, so waiting workers are served in arrival order and never
    hold the lock while asleep."""

    def __init__(
        self,
        rate: float,
        burst: int = DEFAULT_BURST,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)  # negative: slots already promised to waiting workers
        self._updated = clock()

    def acquire(self) -> None:
        """Take one token, sleeping until it is due (seconds, by the injected clock)."""
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)

    def _reserve(self) -> float:
        """Take a token (possibly one not yet refilled) and return how long to wait for it."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._updated = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate!r}, burst={self.burst!r})"


class SendWindow:
    """At most ``limit`` grants in any ``window`` seconds (a sliding log of grant times),
    thread-safe. ``acquire`` is called right before a request leaves, after any other
    wait, so the log holds the times requests were actually sent."""

    def __init__(
        self,
        limit: int,
        window: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._granted: deque[float] = deque()

    def acquire(self) -> None:
        """Return once one more request fits in the window ending now (seconds, by the
        injected clock), and log it as sent now."""
        while True:
            wait = self._try_grant()
            if wait <= 0:
                return
            self._sleep(wait)

    def _try_grant(self) -> float:
        """Grant and return 0, or return how long until the oldest grant leaves the window."""
        with self._lock:
            now = self._clock()
            while self._granted and self._granted[0] <= now - self.window:
                self._granted.popleft()
            if len(self._granted) < self.limit:
                self._granted.append(now)
                return 0.0
            return self._granted[0] + self.window - now

    def __repr__(self) -> str:
        return f"SendWindow(limit={self.limit!r}, window={self.window!r})"


class PacedLimiter:
    """``bucket`` spaces the requests evenly; ``window`` then holds back any request that
    a late wake-up would squeeze into a second already full."""

    def __init__(self, bucket: TokenBucket, window: SendWindow) -> None:
        self.bucket = bucket
        self.window = window

    def acquire(self) -> None:
        """Wait for a token, then for room in the window of actual send times."""
        self.bucket.acquire()
        self.window.acquire()

    def __repr__(self) -> str:
        return f"PacedLimiter({self.bucket!r}, {self.window!r})"


def limiter_for(
    rate_limit: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PacedLimiter:
    """The limiter for a configured ``rate_limit`` (requests per second), with the safety
    margin and burst explained in the module docstring: a bucket at ``0.97 R`` behind
    which at most ``floor(0.97 R) + 1`` requests leave in any second."""
    rate = rate_limit * SAFETY_MARGIN
    bucket = TokenBucket(rate, DEFAULT_BURST, clock=clock, sleep=sleep)
    window = SendWindow(math.floor(rate) + DEFAULT_BURST, clock=clock, sleep=sleep)
    return PacedLimiter(bucket, window)
