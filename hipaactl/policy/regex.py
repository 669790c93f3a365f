"""The regular expressions of a pack's ``matches`` operator, on RE2 (SPEC section 9).

Python's ``re`` backtracks: a pattern such as ``(a+)+$`` takes exponential time on a
value of a few dozen characters, so a custom pack could hang ``check``. RE2
(``google-re2``) runs in time linear in the value and refuses the constructs that need
backtracking (backreferences, lookaround), which is what makes a pack safe to load from
anyone. ``matches`` means the whole value matches (``fullmatch``).
"""

from __future__ import annotations

import functools
from typing import Any

import re2


class PatternError(ValueError):
    """RE2 cannot compile the pattern; the message says why."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print its own error to stderr
    return options


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern; raises ``PatternError`` when RE2 cannot compile it (for
    example a backreference ``\\1`` or a lookahead ``(?=...)``)."""
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise PatternError(f"RE2 cannot compile it: {text}") from None


def full_match(pattern: str, value: str) -> bool:
    """Whether all of ``value`` matches ``pattern``, in time linear in ``value``."""
    return compile_pattern(pattern).fullmatch(value) is not None
