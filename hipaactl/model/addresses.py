"""Resource addresses: the stable names used in plans, --target, reports and the audit log.

``agency.security``, ``account[1001].settings``, ``account[1001].user["dr.lee@x.org"]``:
account ids are CTM's integers; object ids and emails are quoted as JSON strings.
"""

from __future__ import annotations

AGENCY_ADDRESS = "agency.security"


def quoted(object_id: str) -> str:
    """``object_id`` as a JSON-style double-quoted string, backslashes and quotes escaped."""
    escaped = object_id.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def account_address(account_id: int) -> str:
    """``account[<id>]`` for a CTM account id."""
    return f"account[{account_id}]"


def resource_address(account_id: int, kind: str, object_id: str | None = None) -> str:
    """``account[<id>].<kind>``, or ``account[<id>].<kind>["<object_id>"]`` for one object
    of a collection (user, trigger, number, ...).
    """
    base = f"{account_address(account_id)}.{kind}"
    return base if object_id is None else f"{base}[{quoted(object_id)}]"
