"""Canonical JSON and digests: one definition for plans, fingerprints and the change log."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes | str) -> str:
    """SHA-256 of ``data`` (text is UTF-8 encoded first) as 64 lowercase hex digits."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def digest(value: Any) -> str:
    """SHA-256 hex of ``value``'s canonical JSON (SPEC section 5: plan and state digests)."""
    return sha256_hex(canonical_json(value))
