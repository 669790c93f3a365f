"""One token bucket shared by every worker, so the whole run stays under ``rate_limit``.

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
"""

from __future__ import annotations

import threading
import time
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


def limiter_for(rate_limit: float) -> TokenBucket:
    """The bucket for a configured ``rate_limit`` (requests per second), with the safety
    margin and burst explained in the module docstring."""
    return TokenBucket(rate_limit * SAFETY_MARGIN, DEFAULT_BURST)
