"""JSON rendering: pretty, sorted, newline-terminated, byte-stable for the same value."""

from __future__ import annotations

import json
from typing import Any


def render_json(document: Any) -> str:
    """``document`` as indented JSON with sorted keys and a trailing newline; raises
    ValueError for NaN or an infinity, which JSON has no number for."""
    return (
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    )
