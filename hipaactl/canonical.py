"""Canonical JSON and digests: one definition for plans, fingerprints and the change log;
and the one way JSON and TOML from outside (files, server replies) are parsed."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same value always gives the same bytes.
    Raises ValueError for NaN or an infinity, which JSON (RFC 8259) has no number for."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(data: bytes | str) -> str:
    """SHA-256 of ``data`` (text is UTF-8 encoded first) as 64 lowercase hex digits."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def digest(value: Any) -> str:
    """SHA-256 hex of ``value``'s canonical JSON (SPEC section 5: plan and state digests)."""
    return sha256_hex(canonical_json(value))


# -- reading JSON and TOML from outside ----------------------------------------------------

# Real documents (CTM replies, configs, packs, plans, logs) nest a handful of levels; a
# deeper one is hostile or broken, and would blow Python's recursion limit in the parser
# or in whatever walks the value next (validation, diff, canonical JSON).
MAX_NESTING = 64


class DocumentError(ValueError):
    """A JSON or TOML document that cannot be used: syntax, nesting deeper than
    ``MAX_NESTING``, a number too long to convert, or one that is not finite. The message
    names no location: the caller adds the file or endpoint."""


def _refuse_constant(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's json reads them, but they are
    not JSON (RFC 8259 section 6), and written back they make a file no parser takes."""
    raise DocumentError(_not_finite(name))


def _finite_float(text: str) -> float:
    """A float literal, refused when it overflows to an infinity (``1e400``) or is one
    (TOML's ``inf`` and ``nan``)."""
    value = float(text)
    if not math.isfinite(value):
        raise DocumentError(_not_finite(text))
    return value


def parse_json(data: bytes | str) -> Any:
    """Decode JSON from outside (a file or a server reply) into Python values.

    Raises ``DocumentError`` (a ``ValueError``) for invalid UTF-8 or JSON, nesting deeper
    than ``MAX_NESTING``, integers past Python's digit limit and numbers that are not
    finite (``NaN``, ``Infinity``, ``1e400``), instead of letting a ``RecursionError`` or
    a bare ``ValueError`` escape. The one gate for outside JSON: what passes it can be
    written back as JSON (``allow_nan=False``) without error.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_float=_finite_float, parse_constant=_refuse_constant)
    except DocumentError:
        raise
    except RecursionError:
        raise DocumentError(f"nested deeper than {MAX_NESTING} levels") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except ValueError as exc:  # int('9' * 5000): "Exceeds the limit (4300 digits) ..."
        raise DocumentError(_number_problem(exc)) from None
    check_nesting(value)
    return value


def parse_toml(text: str) -> dict[str, Any]:
    """Parse TOML from outside (a config or a pack). A syntax error is raised as
    ``tomllib.TOMLDecodeError`` (the caller shows its line and column); nesting deeper
    than ``MAX_NESTING``, integers past Python's digit limit and ``inf`` or ``nan`` (no
    config or pack needs them, and JSON written from them would be invalid) raise
    ``DocumentError``."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        document: dict[str, Any] = tomllib.loads(text, parse_float=_finite_float)
    except (tomllib.TOMLDecodeError, DocumentError):
        raise
    except RecursionError:
        raise DocumentError(f"nested deeper than {MAX_NESTING} levels") from None
    except ValueError as exc:
        raise DocumentError(_number_problem(exc)) from None
    check_nesting(document)
    return document


def check_nesting(value: Any) -> None:
    """Raise ``DocumentError`` when lists and tables in ``value`` nest deeper than
    ``MAX_NESTING``. Iterative, so the check itself cannot overflow the stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_NESTING:
            raise DocumentError(f"nested deeper than {MAX_NESTING} levels")
        stack.extend((child, depth + 1) for child in children)


def _not_finite(literal: str) -> str:
    return f"holds a number that is not finite ({literal}); only finite numbers are accepted"


def _number_problem(exc: ValueError) -> str:
    if "digits" in str(exc):
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        return f"holds a number longer than {limit} digits"
    return f"cannot be read: {exc}"
