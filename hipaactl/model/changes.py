"""The unit of work: one Change is one API call against one resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from hipaactl.model.state import ResourceKind

Action = Literal["create", "update", "delete"]
ACTION_ORDER: dict[Action, int] = {"create": 0, "update": 1, "delete": 2}

ResourceType = Literal[
    "agency.security",
    "settings",
    "call_settings",
    "user",
    "notification",
    "trigger",
    "webhook",
    "number",
    "plan",
    "integration",
    "account",
    "attestation.baa",
    "attestation.individual_logins",
]

RESOURCE_TYPES: tuple[ResourceType, ...] = get_args(ResourceType)
# The resource types that belong to one account (the rest are agency-wide or attested).
ACCOUNT_RESOURCE_TYPES: frozenset[ResourceType] = frozenset(
    t for t in RESOURCE_TYPES if t != "agency.security" and not t.startswith("attestation.")
)
# The account collection a run reads for each resource type it holds; a resource type is
# also its segment in addresses (``account[1001].user[...]``).
KIND_RESOURCE_TYPES: Mapping[ResourceKind, ResourceType] = {
    "settings": "settings",
    "call_settings": "call_settings",
    "users": "user",
    "notifications": "notification",
    "triggers": "trigger",
    "numbers": "number",
    "integrations": "integration",
    "webhooks": "webhook",
    "plan": "plan",
}

JsonMap = Mapping[str, Any]


@dataclass(frozen=True)
class Change:
    """A planned write. ``before``/``after`` hold only the changed fields of an update,
    and the whole object for a create (``after``) or delete (``before``)."""

    address: str
    resource_type: ResourceType
    action: Action
    before: JsonMap | None = field(default=None, hash=False)
    after: JsonMap | None = field(default=None, hash=False)
    reasons: tuple[str, ...] = ()
    account_id: int | None = None
    object_id: str | None = None  # the CTM id of the object written, when it has one
    # Addresses of changes this one is safe only after, or whose ``after`` it was computed
    # from (SPEC section 6): apply skips it unless they were applied.
    depends_on: tuple[str, ...] = ()
    unsafe: tuple[str, ...] = ()


@dataclass(frozen=True)
class ManualAction:
    """A read-only fact that breaks a rule, or that a rule checks and could not be read
    (``unread``; SPEC section 5): only a person can fix or check it."""

    address: str
    rule_ids: tuple[str, ...]
    remediation: tuple[str, ...]
    message: str
    unread: bool = False
