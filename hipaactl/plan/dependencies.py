"""Which planned changes are safe only after another (SPEC section 6, "Order").

Apply runs agency settings, then account settings, then call settings, then users and
notifications, so most safety comes from the order alone. What order cannot give is a
guarantee that the earlier change *succeeded*: a call-settings change that turns
recording or transcription on is safe only once its account's settings change has
turned encryption on or moved transcription to secure. Such a change names that
settings change in ``Change.depends_on``; apply skips it if the settings change failed,
was not started or is outside ``--target``. (Notification changes that keep
``recording_url`` already depend on ``agency.security``: ``plan.desired`` computes them
from its planned value.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hipaactl.model.changes import Change

# A call-settings flag turned on -> the account-settings values that make it safe.
_SAFE_ONLY_AFTER: Mapping[str, Mapping[str, Any]] = {
    "inbound_recordings_on": {"encrypted_recordings": True, "encrypted_recording_storage": True},
    "outbound_recording_on": {"encrypted_recordings": True, "encrypted_recording_storage": True},
    "transcription": {"transcription_mode": "secure"},
}


def _moves_to(change: Change, field: str, value: Any) -> bool:
    """The update sets ``field`` to ``value`` from anything else."""
    if change.action != "update" or change.after is None or field not in change.after:
        return False
    before = (change.before or {}).get(field)
    return bool(change.after[field] == value and before != value)


def _turned_on(change: Change) -> list[str]:
    return [name for name in _SAFE_ONLY_AFTER if _moves_to(change, name, True)]


def _secures(settings: Change, flags: Sequence[str]) -> bool:
    """The settings change turns on encryption or secure transcription that ``flags``
    (the call-settings flags turned on) need."""
    return any(
        _moves_to(settings, name, value)
        for flag in flags
        for name, value in _SAFE_ONLY_AFTER[flag].items()
    )


def add_safety_dependencies(changes: Sequence[Change]) -> tuple[Change, ...]:
    """``changes`` in the same order, each call-settings change that turns recording or
    transcription on made to depend on its account's settings change when that change
    turns encryption on or moves ``transcription_mode`` to ``secure``.

    Pure; a change keeps its existing ``depends_on`` (addresses, in order, no repeats).
    """
    settings = {c.account_id: c for c in changes if c.resource_type == "settings"}
    return tuple(_with_dependency(change, settings) for change in changes)


def _with_dependency(change: Change, settings: Mapping[int | None, Change]) -> Change:
    needed = settings.get(change.account_id)
    if change.resource_type != "call_settings" or needed is None:
        return change
    flags = _turned_on(change)
    if not flags or not _secures(needed, flags):
        return change
    return replace(change, depends_on=tuple(dict.fromkeys([*change.depends_on, needed.address])))
