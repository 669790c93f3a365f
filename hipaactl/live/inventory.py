"""Live state as addressed resources: the one place that names every live object."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hipaactl.canonical import canonical_json
from hipaactl.model.addresses import AGENCY_ADDRESS, account_address, resource_address
from hipaactl.model.changes import ResourceType
from hipaactl.model.state import AccountState, LiveState, state_values


@dataclass(frozen=True)
class LiveResource:
    address: str
    resource_type: ResourceType
    account_id: int | None
    object_id: str | None
    values: Mapping[str, Any] = field(hash=False)


def account_resources(account: AccountState) -> Iterator[LiveResource]:
    """Every resource of one read account: the account, its plan, its settings and each
    object of the collections that were read (collections not read yield nothing).
    """
    aid = account.id
    yield LiveResource(account_address(aid), "account", aid, None, state_values(account.info))
    yield LiveResource(
        resource_address(aid, "plan"), "plan", aid, None, {"plan": account.info.plan}
    )
    if account.settings is not None:
        values = state_values(account.settings)
        yield LiveResource(resource_address(aid, "settings"), "settings", aid, None, values)
    collections: tuple[tuple[str, ResourceType, tuple[Any, ...] | None], ...] = (
        ("call_settings", "call_settings", account.call_settings),
        ("notification", "notification", account.notifications),
        ("trigger", "trigger", account.triggers),
        ("webhook", "webhook", account.webhooks),
        ("number", "number", account.numbers),
        ("integration", "integration", account.integrations),
    )
    for kind, resource_type, items in collections:
        for item in items or ():
            values = state_values(item)
            address = resource_address(aid, kind, item.id)
            yield LiveResource(address, resource_type, aid, item.id, values)
    for user in account.users or ():
        values = state_values(user)
        yield LiveResource(resource_address(aid, "user", user.key), "user", aid, user.id, values)


def agency_resource(live: LiveState) -> LiveResource | None:
    """``agency.security`` as a resource, or None when it was not read."""
    if live.agency_security is None:
        return None
    values = state_values(live.agency_security)
    return LiveResource(AGENCY_ADDRESS, "agency.security", None, None, values)


def live_resources(live: LiveState) -> tuple[LiveResource, ...]:
    """Every live resource of the run (agency and managed accounts), sorted by address."""
    agency = agency_resource(live)
    found: list[LiveResource] = [agency] if agency is not None else []
    for account in live.accounts:
        found.extend(account_resources(account))
    return tuple(sorted(found, key=lambda r: r.address))


def fingerprint_document(live: LiveState) -> dict[str, Any]:
    """Every live value the run read, as plain JSON-able data: the state fingerprint is
    the SHA-256 of its canonical JSON (``state_fingerprint`` computes it piecewise)."""
    return {
        "accounts": [_account_document(a) for a in sorted(live.accounts, key=lambda a: a.id)],
        "agency_security": state_values(live.agency_security) if live.agency_security else None,
        "all_accounts": [state_values(a) for a in live.all_accounts],
    }


def _account_document(account: AccountState) -> dict[str, Any]:
    return {
        "id": account.id,
        "resources": {r.address: r.values for r in account_resources(account)},
    }


def state_fingerprint(live: LiveState) -> str:
    """``digest(fingerprint_document(live))``, hashed one account at a time so that
    10,000 accounts never sit in memory as one document and one string."""
    hasher = hashlib.sha256(b'{"accounts":[')
    for index, account in enumerate(sorted(live.accounts, key=lambda a: a.id)):
        if index:
            hasher.update(b",")
        hasher.update(canonical_json(_account_document(account)).encode("utf-8"))
    agency = state_values(live.agency_security) if live.agency_security else None
    accounts = [state_values(a) for a in live.all_accounts]
    tail = (
        f'],"agency_security":{canonical_json(agency)},"all_accounts":{canonical_json(accounts)}}}'
    )
    hasher.update(tail.encode("utf-8"))
    return hasher.hexdigest()
