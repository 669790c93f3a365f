"""The key of a keyed change log (SPEC section 13): HMAC-SHA-256 in place of SHA-256.

A plain chain proves order and completeness only to someone who cannot rewrite it:
whoever can write the log and its head can edit a record and recompute every SHA-256
after it. With ``$HIPAACTL_AUDIT_KEY`` set, each record's ``hash`` is an HMAC-SHA-256
under that key, and so is the head's, so re-chaining an edited log needs the key. Keep
the key in the CI secret store, never beside the log: a key that lives with the log
proves nothing. The key is a secret: it is never printed, logged or stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from hipaactl.canonical import canonical_json
from hipaactl.model.scrub import register_secret

AUDIT_KEY_ENV = "HIPAACTL_AUDIT_KEY"


def audit_key(environ: Mapping[str, str]) -> bytes | None:
    """The key from ``$HIPAACTL_AUDIT_KEY`` (its UTF-8 bytes), or None when unset or empty.

    The key is registered with the scrubber, so no sink ever shows it. Whole key only:
    keys are often hex, and masking any 8 of its characters could also hit the hex
    hashes the change log and ``audit verify`` print.
    """
    text = environ.get(AUDIT_KEY_ENV, "")
    if not text:
        return None
    register_secret(text, fragments=False)
    return text.encode("utf-8")


def mac(key: bytes, value: Any) -> str:
    """HMAC-SHA-256 (hex) under ``key`` of ``value``'s canonical JSON."""
    return hmac.new(key, canonical_json(value).encode("utf-8"), hashlib.sha256).hexdigest()


def record_mac(record: Mapping[str, Any], key: bytes) -> str:
    """The ``hash`` of a keyed record: HMAC-SHA-256 of its canonical JSON without ``hash``."""
    return mac(key, {name: value for name, value in record.items() if name != "hash"})


def head_mac(records: int, last_hash: str, first_keyed: int, key: bytes) -> str:
    """The ``hmac`` of a keyed head: HMAC-SHA-256 of ``{"first_keyed", "hash", "records"}``,
    so neither its end nor where keying began can be changed without the key."""
    return mac(key, {"first_keyed": first_keyed, "hash": last_hash, "records": records})


def same(expected: str, found: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(
        expected.encode("ascii", "replace"), found.encode("ascii", "replace")
    )
