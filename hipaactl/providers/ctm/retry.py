"""When the CTM transport retries, and how long it waits (SPEC section 4).

The table, in one place:

- 429, 502, 503, 504, connection errors and timeouts: GET, PUT and DELETE are retried
  (a 404 on a retried DELETE is success); a 2xx GET or PUT whose body is not valid JSON
  is retried too, since an unreadable reply confirms nothing.
- POST is retried only when nothing can have been created: a 429 (the server refused
  the request before doing any work) or a failure to open the connection (no byte of
  the request left this machine). After any other retryable failure, or a 2xx reply
  that cannot be read, the POST raises ``UncertainWriteError`` at once and the caller
  re-reads before creating.
- 400, 401, 403, 404, 422, 500 and every other status are never retried.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from hipaactl.providers.ctm.transport import Method

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Statuses at which a POST is known not to have created anything.
POST_SAFE_STATUSES = frozenset({429})
AUTH_STATUSES = frozenset({401, 403})
_DELAY_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")

Verdict = Literal["done", "retry", "uncertain", "fail", "auth"]


def judge_status(method: Method, status: int, *, readable: bool, retried: bool) -> Verdict:
    """What to do after a reply with ``status``; ``readable`` says whether its body was
    the JSON (or the empty body) the method expects, ``retried`` whether an earlier
    attempt of this same request failed."""
    if 200 <= status < 300:
        if readable:
            return "done"
        return "uncertain" if method == "POST" else "retry"
    if status == 404 and method == "DELETE" and retried:
        return "done"  # an earlier attempt deleted it
    if status in AUTH_STATUSES:
        return "auth"
    if status in RETRYABLE_STATUSES:
        if method != "POST" or status in POST_SAFE_STATUSES:
            return "retry"
        return "uncertain"
    return "fail"


def judge_failure(method: Method, *, retryable: bool, sent: bool) -> Verdict:
    """What to do when no reply came back; ``sent`` is False only when the request
    provably never left this machine."""
    if not retryable:
        return "fail"
    if method == "POST" and sent:
        return "uncertain"
    return "retry"


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with equal jitter: the n-th retry waits between half and all
    of ``min(maximum, base * 2**(n-1))``, so workers that failed together spread out but
    never retry at once. A server's ``Retry-After`` wins, capped at ``retry_after_max``."""

    base: float = 0.5
    maximum: float = 30.0
    retry_after_max: float = 60.0

    def delay(
        self, retry_number: int, retry_after: float | None, random: Callable[[], float]
    ) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based): ``Retry-After`` capped at
        ``retry_after_max``, else a jittered exponential delay.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max)
        ceiling = min(self.maximum, self.base * 2.0 ** (retry_number - 1))
        return ceiling / 2 + random() * ceiling / 2


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date
    (``now`` is the wall clock, as a POSIX timestamp). None when absent or unparsable."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)  # RFC 9110 says whole seconds; a decimal is harmless
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None  # HTTP dates are always GMT; a date without a zone is not one
    return max(0.0, when.timestamp() - now)
