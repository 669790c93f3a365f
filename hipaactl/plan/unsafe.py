"""The unsafe-plan guard (SPEC section 6): which planned changes weaken security.

``unsafe_reasons(changes, live)`` maps the address of every unsafe change to its reasons
(short strings such as ``two_factor weakened: every_login -> off``); safe changes are
absent. ``mark_unsafe`` returns the changes with ``Change.unsafe`` filled from it. Both
are pure: the plan stage calls one, and apply refuses a plan with any reason unless
``--force``.

A change is unsafe when it
- lengthens ``idle_timeout_minutes`` or weakens ``two_factor``
  (every_login > every_30_days > off);
- turns on ``allow_account_override`` or ``allow_email_mfa``; lengthens
  ``recording_link_expiry_days`` or sets it to 0 (links never expire);
- turns off ``require_login_for_recordings``, ``encrypted_recordings`` or
  ``encrypted_recording_storage``;
- moves ``transcription_mode`` away from ``secure``, or to ``enhanced``;
- lengthens ``redaction_schedule`` (daily < 30_days < 60_days < 90_days < manual < off);
- turns on caller ID or enhanced caller ID in a call-settings profile;
- turns on a recording flag while the account's planned settings (live settings with
  the plan's settings change applied) leave either encryption flag off;
- promotes a user to an admin or agency role; deletes or demotes a user whose live role
  hipaactl does not know;
- deletes or demotes the last admin of an account (``admin`` and ``agency_admin`` count;
  admins the plan creates or promotes count), deletes all of an account's users, or more
  than 30% of them when it has 10 or more (every delete of that account carries the
  reason);
- changes a guarded field whose live value is missing or not recognised (``15.0``,
  ``"weekly"``): "live value unknown", since the guard cannot tell a weakening then.

Tightening from a known value is never unsafe.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from hipaactl.model.changes import Change, ResourceType
from hipaactl.model.state import (
    ADMIN_ROLES,
    PRIVILEGED_ROLES,
    REDACTION_SCHEDULES,
    ROLES,
    TRANSCRIPTION_MODES,
    LiveState,
    User,
    raw_value,
)

# Strongest first: moving right weakens.
TWO_FACTOR_STRENGTH = ("every_login", "every_30_days", "off")
REDACTION_STRENGTH = ("daily", "30_days", "60_days", "90_days", "manual", "off")
ENCRYPTION_FIELDS = ("encrypted_recordings", "encrypted_recording_storage")
RECORDING_FIELDS = ("inbound_recordings_on", "outbound_recording_on")
SECURE_TRANSCRIPTION = "secure"
WEAK_TRANSCRIPTION = "enhanced"  # SPEC: moving to it counts as weakening
# Deleting more than this share of an account's users, when it has at least
# MASS_DELETE_MIN_USERS, looks like a mistake (a typo in users.mode = "exact").
MASS_DELETE_SHARE = (3, 10)
MASS_DELETE_MIN_USERS = 10

FieldRule = Callable[[str, Any, Any], "str | None"]
Recognizer = Callable[[Any], bool]

_ACCOUNT_ADDRESS = re.compile(r"^account\[(\d+)\]")
_USER_ADDRESS = re.compile(r'^account\[\d+\]\.user\[("(?:[^"\\]|\\.)*")\]$')


# --- one field at a time ---------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _one_of(choices: tuple[str, ...]) -> Recognizer:
    return lambda value: isinstance(value, str) and value in choices


def _shown(value: Any) -> str:
    return "missing" if value is None else json.dumps(value)


def unknown_reason(name: str, before: Any, after: Any) -> str:
    """The reason for a change of a guarded field from a value the guard cannot judge."""
    return f"{name}: live value unknown ({_shown(before)}) -> {json.dumps(after)}"


def _lengthened(name: str, before: Any, after: Any) -> str | None:
    if _is_int(before) and _is_int(after) and after > before:
        return f"{name} lengthened: {before} -> {after}"
    return None


def _link_expiry(name: str, before: Any, after: Any) -> str | None:
    """0 means recording links never expire: the weakest value there is."""
    if not (_is_int(before) and _is_int(after)) or before == 0:
        return None
    if after == 0:
        return f"{name} disabled: {before} -> 0 (recording links never expire)"
    return f"{name} lengthened: {before} -> {after}" if after > before else None


def _ranked(strength: tuple[str, ...], verb: str) -> FieldRule:
    def rule(name: str, before: Any, after: Any) -> str | None:
        comparable = before in strength and after in strength
        if comparable and strength.index(after) > strength.index(before):
            return f"{name} {verb}: {before} -> {after}"
        return None

    return rule


def _turned_off(name: str, before: Any, after: Any) -> str | None:
    return f"{name} turned off" if before is True and after is False else None


def _turned_on(label: str) -> FieldRule:
    def rule(name: str, before: Any, after: Any) -> str | None:
        return f"{name} turned on ({label})" if before is False and after is True else None

    return rule


def _transcription(name: str, before: Any, after: Any) -> str | None:
    if before is None or after is None or before == after:
        return None
    if before == SECURE_TRANSCRIPTION or after == WEAK_TRANSCRIPTION:
        return f"{name} weakened: {before} -> {after}"
    return None


# Every guarded field: which live values the guard understands, and its rule.
FIELD_RULES: Mapping[tuple[ResourceType, str], tuple[Recognizer, FieldRule]] = {
    ("agency.security", "idle_timeout_minutes"): (_is_int, _lengthened),
    ("agency.security", "two_factor"): (
        _one_of(TWO_FACTOR_STRENGTH),
        _ranked(TWO_FACTOR_STRENGTH, "weakened"),
    ),
    ("agency.security", "require_login_for_recordings"): (_is_bool, _turned_off),
    ("agency.security", "allow_account_override"): (
        _is_bool,
        _turned_on("accounts may weaken the agency's security settings"),
    ),
    ("agency.security", "allow_email_mfa"): (
        _is_bool,
        _turned_on("email accepted as a second factor"),
    ),
    ("agency.security", "recording_link_expiry_days"): (_is_int, _link_expiry),
    ("settings", "encrypted_recordings"): (_is_bool, _turned_off),
    ("settings", "encrypted_recording_storage"): (_is_bool, _turned_off),
    ("settings", "transcription_mode"): (_one_of(TRANSCRIPTION_MODES), _transcription),
    ("settings", "redaction_schedule"): (
        _one_of(REDACTION_SCHEDULES),
        _ranked(REDACTION_STRENGTH, "lengthened"),
    ),
    ("call_settings", "inbound_recordings_on"): (_is_bool, lambda *_: None),
    ("call_settings", "outbound_recording_on"): (_is_bool, lambda *_: None),
    ("call_settings", "callerid_enabled"): (_is_bool, _turned_on("caller ID")),
    ("call_settings", "premium_callerid_enabled"): (_is_bool, _turned_on("enhanced caller ID")),
}


def _field_reasons(change: Change) -> list[str]:
    if change.action != "update" or change.before is None or change.after is None:
        return []
    reasons: list[str] = []
    for name in sorted(change.after):
        guarded = FIELD_RULES.get((change.resource_type, name))
        if guarded is None:
            continue
        recognizes, rule = guarded
        before, after = change.before.get(name), change.after[name]
        reason = (
            rule(name, before, after) if recognizes(before) else unknown_reason(name, before, after)
        )
        if reason is not None:
            reasons.append(reason)
    return reasons


# --- recording against the planned encryption ------------------------------------------


def _account_id(change: Change) -> int | None:
    if change.account_id is not None:
        return change.account_id
    match = _ACCOUNT_ADDRESS.match(change.address)
    return int(match.group(1)) if match else None


def _planned_encryption(changes: Sequence[Change], live: LiveState) -> dict[int, dict[str, Any]]:
    """Per account: the encryption flags after the plan (live values, then the plan's)."""
    planned: dict[int, dict[str, Any]] = {}
    for account in live.accounts:
        if account.settings is not None:
            planned[account.id] = {
                f: raw_value(getattr(account.settings, f)) for f in ENCRYPTION_FIELDS
            }
    for change in changes:
        account_id = _account_id(change)
        if change.resource_type == "settings" and change.after and account_id is not None:
            values = planned.setdefault(account_id, dict.fromkeys(ENCRYPTION_FIELDS))
            values.update({f: change.after[f] for f in ENCRYPTION_FIELDS if f in change.after})
    return planned


def _recording_reasons(change: Change, encryption: Mapping[str, Any] | None) -> list[str]:
    if change.resource_type != "call_settings" or change.action != "update":
        return []
    values = encryption if encryption is not None else dict.fromkeys(ENCRYPTION_FIELDS)
    off = sorted(name for name, value in values.items() if value is False)
    unknown = sorted(name for name, value in values.items() if not isinstance(value, bool))
    if not (off or unknown) or change.before is None or change.after is None:
        return []
    states = []
    if off:
        states.append(f"{' and '.join(off)} {'is' if len(off) == 1 else 'are'} off")
    if unknown:
        states.append(f"{' and '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} unknown")
    return [
        f"{name} turned on while {' and '.join(states)} after this plan"
        for name in RECORDING_FIELDS
        if change.before.get(name) is False and change.after.get(name) is True
    ]


# --- users of one account --------------------------------------------------------------


def _user_key(change: Change) -> str:
    """The lowercased email a user change is about (updates carry it only in the address)."""
    match = _USER_ADDRESS.match(change.address)
    if match:
        return str(json.loads(match.group(1))).lower()
    values = change.after or change.before or {}
    return str(values.get("email", change.address)).lower()


def _role_after(change: Change) -> str | None:
    return None if change.after is None else change.after.get("role")


def _removes_admin(change: Change, live_roles: Mapping[str, str]) -> str | None:
    """``deleted`` or ``demoted`` when the change takes away an admin, else None."""
    key = _user_key(change)
    if change.action == "delete" and live_roles.get(key) in ADMIN_ROLES:
        return "deleted"
    if change.action == "update" and live_roles.get(key) in ADMIN_ROLES:
        role = _role_after(change)
        if role is not None and role not in ADMIN_ROLES:
            return "demoted"
    return None


def _role_reasons(change: Change, live_roles: Mapping[str, str]) -> list[str]:
    """A promotion to an admin or agency role; a delete or role change of a user whose
    live role hipaactl does not know (it may be an admin under another name)."""
    live_role = live_roles.get(_user_key(change))
    role = _role_after(change)
    if live_role is None or (change.action == "update" and role is None):
        return []
    if live_role not in ROLES:
        what = "deleted" if change.action == "delete" else f"role changed to {role}"
        return [f"user {what}: live role unknown ({json.dumps(live_role)})"]
    if change.action == "update" and role in PRIVILEGED_ROLES and live_role != role:
        return [f"user promoted: {live_role} -> {role}"]
    return []


def _planned_roles(changes: Sequence[Change], live_roles: Mapping[str, str]) -> dict[str, str]:
    roles = dict(live_roles)
    for change in changes:
        key = _user_key(change)
        role = _role_after(change)
        if change.action == "delete":
            roles.pop(key, None)
        elif role is not None:
            roles[key] = role
    return roles


def _admin_reasons(
    account_id: int, changes: Sequence[Change], live_roles: Mapping[str, str]
) -> dict[str, list[str]]:
    had_admin = any(role in ADMIN_ROLES for role in live_roles.values())
    planned = _planned_roles(changes, live_roles).values()
    if not had_admin or any(role in ADMIN_ROLES for role in planned):
        return {}
    reasons: dict[str, list[str]] = {}
    for change in changes:
        how = _removes_admin(change, live_roles)
        if how == "deleted":
            reasons[change.address] = [
                f"last admin deleted: account[{account_id}] would have no admin"
            ]
        elif how == "demoted":
            reasons[change.address] = [
                f"last admin demoted: {live_roles[_user_key(change)]} -> {_role_after(change)}; "
                f"account[{account_id}] would have no admin"
            ]
    return reasons


def _mass_delete_reason(account_id: int, deleted: int, total: int) -> str | None:
    share, whole = MASS_DELETE_SHARE
    if total > 0 and deleted == total:
        return f"all users deleted: {deleted} of {total} users of account[{account_id}]"
    if total >= MASS_DELETE_MIN_USERS and deleted * whole > total * share:
        return (
            f"{deleted} of {total} users of account[{account_id}] deleted "
            f"(more than {100 * share // whole}%)"
        )
    return None


def _user_reasons(
    account_id: int, changes: Sequence[Change], live_users: Sequence[User]
) -> dict[str, list[str]]:
    live_roles: dict[str, str] = {user.key: user.role for user in live_users}
    reasons: defaultdict[str, list[str]] = defaultdict(list)
    for change in changes:
        reasons[change.address].extend(_role_reasons(change, live_roles))
    for address, found in _admin_reasons(account_id, changes, live_roles).items():
        reasons[address].extend(found)
    deletes = [c for c in changes if c.action == "delete" and _user_key(c) in live_roles]
    mass = _mass_delete_reason(account_id, len(deletes), len(live_roles))
    if mass is not None:
        for change in deletes:
            reasons[change.address].append(mass)
    return reasons


def _all_user_reasons(changes: Sequence[Change], live: LiveState) -> dict[str, list[str]]:
    by_account: defaultdict[int, list[Change]] = defaultdict(list)
    for change in changes:
        account_id = _account_id(change)
        if change.resource_type == "user" and account_id is not None:
            by_account[account_id].append(change)
    reasons: dict[str, list[str]] = {}
    for account_id, user_changes in by_account.items():
        account = live.account(account_id)
        # Users that were not read cannot be counted; the diff plans no user change then.
        if account is not None and account.users is not None:
            reasons.update(_user_reasons(account_id, user_changes, account.users))
    return reasons


# --- the guard -------------------------------------------------------------------------


def unsafe_reasons(changes: Sequence[Change], live: LiveState) -> dict[str, tuple[str, ...]]:
    """Address -> why that change weakens security, for unsafe changes only, by address."""
    encryption = _planned_encryption(changes, live)
    found: defaultdict[str, list[str]] = defaultdict(list)
    for change in changes:
        account_id = _account_id(change)
        planned = encryption.get(account_id) if account_id is not None else None
        found[change.address].extend(_field_reasons(change))
        found[change.address].extend(_recording_reasons(change, planned))
    for address, reasons in _all_user_reasons(changes, live).items():
        found[address].extend(reasons)
    return {address: tuple(found[address]) for address in sorted(found) if found[address]}


def mark_unsafe(changes: Sequence[Change], live: LiveState) -> tuple[Change, ...]:
    """The changes, in the same order, with ``unsafe`` set from ``unsafe_reasons``."""
    reasons = unsafe_reasons(changes, live)
    return tuple(replace(change, unsafe=reasons.get(change.address, ())) for change in changes)
