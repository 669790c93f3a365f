"""Live state as addressed resources: the one place that names every live object."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hipaactl.addresses import AGENCY_ADDRESS, account_address, resource_address
from hipaactl.changes import ResourceType
from hipaactl.state import AccountState, LiveState


@dataclass(frozen=True)
class LiveResource:
    address: str
    resource_type: ResourceType
    account_id: int | None
    object_id: str | None
    values: Mapping[str, Any] = field(hash=False)


def plain(value: Any) -> dict[str, Any]:
    """A flat state dataclass as JSON-able values (tuples become lists). Much cheaper
    than ``dataclasses.asdict``, which deep-copies, on 10,000-account agencies."""
    return {
        f.name: list(v) if isinstance(v := getattr(value, f.name), tuple) else v
        for f in fields(value)
    }


def account_resources(account: AccountState) -> Iterator[LiveResource]:
    aid = account.id
    yield LiveResource(account_address(aid), "account", aid, None, plain(account.info))
    yield LiveResource(
        resource_address(aid, "plan"), "plan", aid, None, {"plan": account.info.plan}
    )
    if account.settings is not None:
        values = plain(account.settings)
        yield LiveResource(resource_address(aid, "settings"), "settings", aid, None, values)
    collections: tuple[tuple[str, ResourceType, tuple[Any, ...] | None], ...] = (
        ("call_settings", "call_settings", account.call_settings),
        ("notification", "notification", account.notifications),
        ("trigger", "trigger", account.triggers),
        ("number", "number", account.numbers),
        ("integration", "integration", account.integrations),
    )
    for kind, resource_type, items in collections:
        for item in items or ():
            values = plain(item)
            address = resource_address(aid, kind, item.id)
            yield LiveResource(address, resource_type, aid, item.id, values)
    for user in account.users or ():
        values = plain(user)
        yield LiveResource(resource_address(aid, "user", user.key), "user", aid, user.id, values)


def live_resources(live: LiveState) -> tuple[LiveResource, ...]:
    found: list[LiveResource] = []
    if live.agency_security is not None:
        values = plain(live.agency_security)
        found.append(LiveResource(AGENCY_ADDRESS, "agency.security", None, None, values))
    for account in live.accounts:
        found.extend(account_resources(account))
    return tuple(sorted(found, key=lambda r: r.address))


def fingerprint_document(live: LiveState, resources: tuple[LiveResource, ...]) -> dict[str, Any]:
    """Every live value the run read (``resources`` is ``live_resources(live)``), as
    plain JSON-able data, for the state fingerprint."""
    return {
        "agency_security": plain(live.agency_security) if live.agency_security else None,
        "all_accounts": [plain(a) for a in live.all_accounts],
        "resources": {r.address: dict(r.values) for r in resources},
    }
