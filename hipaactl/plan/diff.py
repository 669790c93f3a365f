"""Desired vs live -> list[Change]. The only module that imports deepdiff."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from deepdiff import DeepDiff

from hipaactl.config.model import Config
from hipaactl.errors import ConfigError, ConfigIssue
from hipaactl.live.inventory import LiveResource, account_resources, agency_resource
from hipaactl.model.addresses import resource_address
from hipaactl.model.changes import ACTION_ORDER, Change
from hipaactl.model.state import AccountState, AgencySecurity, LiveState, User
from hipaactl.plan.desired import (
    DesiredResource,
    DesiredUser,
    DesiredUsers,
    resolve_account,
    resolve_agency,
)
from hipaactl.policy.model import Pack


def _same(live: Any, desired: Any) -> bool:
    """Equal in value and in JSON type: ``True`` is not ``1``, ``[a, b]`` is not ``(a, b)``."""
    if type(live) is not type(desired):
        return False
    if isinstance(live, list):
        return len(live) == len(desired) and all(map(_same, live, desired))
    return bool(live == desired)


def changed_fields(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """Managed fields whose live value differs from the desired one (``True`` is not 1).

    Most resources of a converged agency are unchanged, so a strict equality check
    answers first; DeepDiff, costly per call, only looks at resources that differ."""
    current = {key: live.get(key) for key in desired}
    if all(_same(current[key], value) for key, value in desired.items()):
        return []
    diff = DeepDiff(current, dict(desired), ignore_order=False)
    return sorted(str(key) for key in diff.affected_root_keys)


def _update(resource: DesiredResource, live: LiveResource) -> Change | None:
    fields = changed_fields(live.values, resource.values)
    if not fields:
        return None
    return Change(
        address=resource.address,
        resource_type=resource.resource_type,
        action="update",
        before={k: live.values.get(k) for k in fields},
        after={k: resource.values[k] for k in fields},
        reasons=resource.reasons or ("differs from configuration",),
        account_id=resource.account_id,
        object_id=resource.object_id,
        depends_on=resource.depends_on,
    )


def _user_values(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
    }


NAME_FIELDS = ("first_name", "last_name")


def _require_names(config: Config, wanted: DesiredUser, address: str) -> None:
    """A user apply must create needs both names (SPEC section 3): a plan-time error
    naming the key, never a create CTM would refuse halfway through an apply."""
    missing = [name for name in NAME_FIELDS if name not in wanted.values]
    if missing:
        raise ConfigError(
            [
                ConfigIssue(
                    file=str(config.path),
                    key=f"{wanted.key_path}.{name}",
                    line=config.key_lines.get(wanted.key_path),
                    message=f"{address} does not exist in CTM, so apply must create it, "
                    f"which needs {name}",
                )
                for name in missing
            ]
        )


def _user_changes(config: Config, account: AccountState, desired: DesiredUsers) -> list[Change]:
    live_users = {u.key: u for u in account.users or ()}
    declared = {u.values["email"].lower(): u for u in desired.users}
    changes: list[Change] = []
    for key, declared_user in declared.items():
        wanted = declared_user.values
        address = resource_address(account.id, "user", key)
        current = live_users.get(key)
        if current is None:
            _require_names(config, declared_user, address)
            changes.append(
                Change(
                    address,
                    "user",
                    "create",
                    None,
                    dict(wanted),
                    ("declared in configuration, missing in CTM",),
                    account.id,
                )
            )
            continue
        # CTM treats emails case-insensitively, so a case-only difference is no change.
        live_values = {**_user_values(current), "email": wanted["email"]}
        fields = changed_fields(live_values, wanted)
        if fields:
            changes.append(
                Change(
                    address,
                    "user",
                    "update",
                    {k: live_values[k] for k in fields},
                    {k: wanted[k] for k in fields},
                    ("differs from configuration",),
                    account.id,
                    current.id,
                )
            )
    if desired.exact:
        for key, current in live_users.items():
            if key not in declared:
                changes.append(
                    Change(
                        resource_address(account.id, "user", key),
                        "user",
                        "delete",
                        _user_values(current),
                        None,
                        ('not declared and users.mode = "exact"',),
                        account.id,
                        current.id,
                    )
                )
    return changes


def sort_changes(changes: list[Change]) -> tuple[Change, ...]:
    """Changes sorted by address, then create, update, delete for the same address."""
    return tuple(sorted(changes, key=lambda c: (c.address, ACTION_ORDER[c.action])))


def diff_resources(
    resources: Iterable[DesiredResource], live_index: Mapping[str, LiveResource]
) -> list[Change]:
    """One update per desired resource whose live values differ, for the fields declared;
    resources absent from ``live_index`` (by address) give no change. A field missing
    from the object read is a change from an unknown value, which the unsafe guard
    names (SPEC section 3).
    """
    changes = []
    for resource in resources:
        current = live_index.get(resource.address)
        change = _update(resource, current) if current is not None else None
        if change is not None:
            changes.append(change)
    return changes


def diff_agency(config: Config, live: LiveState) -> list[Change]:
    """The change to ``agency.security``, if any; none when the config declares nothing there
    or live state did not read it.
    """
    desired = resolve_agency(config, live.agency_security)
    current = agency_resource(live)
    if desired is None or current is None:
        return []
    return diff_resources([desired], {current.address: current})


def diff_account(
    config: Config,
    packs: Sequence[Pack],
    agency: AgencySecurity | None,
    account: AccountState,
    unread: list[str] | None = None,
) -> list[Change]:
    """One account's changes (unsorted), so accounts can be diffed as they are read;
    ``agency`` is live agency security. ``unread`` (when given) is extended with the
    addresses of managed fields whose desired value can't be computed because what it
    is computed from could not be read (a notification's ``fields``; SPEC section 5: the
    plan must then fail, naming them)."""
    desired = resolve_account(config, packs, agency, account)
    if unread is not None:
        unread.extend(desired.unread)
    index = {r.address: r for r in account_resources(account)}
    changes = diff_resources(desired.resources, index)
    if desired.users is not None:
        changes.extend(_user_changes(config, account, desired.users))
    return changes


def diff_live(config: Config, packs: Sequence[Pack], live: LiveState) -> tuple[Change, ...]:
    """Every change of a live state read in full: what a plan computes account by
    account as reads arrive."""
    changes = diff_agency(config, live)
    for account in live.accounts:
        changes.extend(diff_account(config, packs, live.agency_security, account))
    return sort_changes(changes)
