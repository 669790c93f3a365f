"""What rules see: flat ``ResourceView``s built from the declared config or live state.

One table, ``FIELD_DOCS``, lists and explains the fields each resource type offers to
rules (``RESOURCE_FIELDS`` is its key sets); pack loading checks rule fields against it
and the builders here produce exactly those fields. A field left out of a view's values
is unknown: undeclared (gate) or unreadable (check).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hipaactl.config.model import AccountDesired, BaaAttestation, Config, UserDesired
from hipaactl.config.pack_schema import DEFAULT_ATTESTATION_MAX_AGE_DAYS
from hipaactl.live.scope import Scope
from hipaactl.model.addresses import AGENCY_ADDRESS, account_address, quoted
from hipaactl.model.changes import KIND_RESOURCE_TYPES
from hipaactl.model.state import (
    AccountSettings,
    AccountState,
    AgencySecurity,
    CallSettings,
    Integration,
    LiveState,
    Notification,
    ResourceKind,
    TrackingNumber,
    Trigger,
    Unrecognized,
    User,
    Webhook,
)
from hipaactl.model.unread import ACCOUNT_LIST_ADDRESS, is_unread
from hipaactl.policy.model import Pack, ResourceView

DEFAULTS_PREFIX = "defaults"
DECLARED_PROFILE_ID = "*"  # the one synthetic profile a config's call-settings keys describe

# Not fields a rule may check: what reports show beside an attestation's result.
EVIDENCE_KEY = "_evidence"  # who confirmed what, when, and the document's digest
PROBLEM_KEY = "_problem"  # why a present attestation is not current
BAA_COUNTERPARTY = "CallTrackingMetrics"
# What each field means, for the policy reference (docs/policies.md); a test keeps it
# complete. Derived fields say how they are computed.
FIELD_DOCS: Mapping[str, Mapping[str, str]] = {
    "agency.security": {
        "idle_timeout_minutes": "minutes of idle time before a user is logged out",
        "two_factor": "`every_login`, `every_30_days` or `off`",
        "require_login_for_recordings": "whether a user login is needed to hear recordings",
        "allow_account_override": "whether accounts may weaken these settings",
        "allow_email_mfa": "whether email is accepted as a second factor",
        "recording_link_expiry_days": "days a recording link works (0 = never expires)",
    },
    "settings": {
        "encrypted_recordings": "recordings are encrypted",
        "encrypted_recording_storage": "recording storage is encrypted",
        "transcription_mode": "`standard`, `secure` or `enhanced`",
        "redaction_schedule": "`off`, `manual`, `daily`, `30_days`, `60_days` or `90_days`",
    },
    "call_settings": {
        "name": "the profile's name",
        "inbound_recordings_on": "inbound calls are recorded",
        "outbound_recording_on": "outbound calls are recorded",
        "records": "derived: true when either recording flag is on",
        "transcription": "calls are transcribed",
        "callerid_enabled": "Caller ID is on",
        "premium_callerid_enabled": "Enhanced Caller ID is on",
    },
    "user": {
        "email": "the login, lowercased",
        "local_part": "derived: the email before the `@`",
        "role": "the role CTM returns, as it is",
        "status": "the status CTM returns, such as `active`",
    },
    "notification": {
        "name": "the notification's name",
        "kind": "`email`, `sms`, `export` or `webhook`",
        "fields": "the fields it sends",
    },
    "trigger": {
        "name": "the trigger's name",
        "action_types": "the `type` of every action of every routing rule",
        "placeholders": "derived: the field names every string of every action names as "
        "`{{x}}`, `%x%` or `[x]`, lowercased; unknown when an action cannot be read",
    },
    "webhook": {
        "name": "the webhook's name",
        "scheme": "derived: the scheme of `weburl`, lowercased",
        "host": "derived: the host of `weburl`, lowercased (the rest of the URL is dropped)",
        "https": "derived: true when `weburl` is https",
        "with_resource_url": "whether the post carries a link to the call",
        "position": "when it posts (start or end of the call)",
    },
    "number": {
        "number": "the tracking number",
        "name": "its name",
        "hipaa_eligible": "whether CTM marks it eligible for HIPAA (an inferred field)",
    },
    "plan": {"plan": "the account's plan, lowercased with spaces as underscores"},
    "integration": {"name": "the integration's name, lowercased", "enabled": "it is on"},
    "account": {
        "classification": "`managed`, `excluded` or `unclassified` by `[accounts]`",
        "user_count": "derived: the users of a managed account",
        "admin_count": "derived: its users whose role is `admin` or `agency_admin`",
        "admins_over_limit": "derived: admins beyond max(3, 10% of users), at least 0",
    },
    "attestation.baa": {
        "present": "the table is in the config",
        "current": "derived: `confirmed_on` is within the last `max_age_days` days",
        "confirmed_on": "the date a person confirmed it",
        "max_age_days": "the strictest age of the packs and `[attestations] max_age_days`",
    },
}
FIELD_DOCS = {
    **FIELD_DOCS,
    "attestation.individual_logins": FIELD_DOCS["attestation.baa"],
}
# The fields a rule may check, by resource type: exactly the documented ones.
RESOURCE_FIELDS: Mapping[str, frozenset[str]] = {
    resource_type: frozenset(fields) for resource_type, fields in FIELD_DOCS.items()
}

# Account collections as resource types; the read-only ones a plan must read on purpose.
_READ_ONLY_KINDS: Mapping[str, ResourceKind] = {
    "number": "numbers",
    "integration": "integrations",
    "trigger": "triggers",
    "webhook": "webhooks",
    "plan": "plan",
}
# The placeholder forms CTM templates use: {{caller_name}}, %caller_name%, [caller_name].
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}|%([A-Za-z0-9_.]+)%|\[([A-Za-z0-9_.]+)\]")


def _view(
    resource_type: str, address: str, account_id: int | None, values: Mapping[str, Any]
) -> ResourceView:
    # None means "not declared" or "not readable", and an unrecognised live value is not
    # evaluated either: such fields are left out, so rules over them are ``error``.
    known = {
        k: v for k, v in values.items() if not is_unread(v) and not isinstance(v, Unrecognized)
    }
    unrecognized = frozenset(k for k, v in values.items() if isinstance(v, Unrecognized))
    return ResourceView(resource_type, address, account_id, known, unrecognized)


def normalize_plan(plan: str) -> str:
    """ "Marketing Pro" and ``marketing_pro`` name one plan."""
    return "_".join(plan.strip().lower().split())


# -- declared state (the gate) -------------------------------------------------------


def declared_views(config: Config) -> tuple[ResourceView, ...]:
    """The desired state as declared: ``[defaults]`` under ``defaults.*`` (account None),
    each ``[[account]]`` (defaults merged) under its address. Only declared fields appear."""
    security = config.agency_security
    views = [
        _view(
            "agency.security",
            AGENCY_ADDRESS,
            None,
            {
                "idle_timeout_minutes": security.idle_timeout_minutes,
                "two_factor": security.two_factor,
                "require_login_for_recordings": security.require_login_for_recordings,
                "allow_account_override": security.allow_account_override,
                "allow_email_mfa": security.allow_email_mfa,
                "recording_link_expiry_days": security.recording_link_expiry_days,
            },
        )
    ]
    views.extend(_declared_account(DEFAULTS_PREFIX, None, config.defaults, profile_id=None))
    for spec in config.accounts:
        prefix = account_address(spec.id)
        views.extend(_declared_account(prefix, spec.id, spec.desired, DECLARED_PROFILE_ID))
    return tuple(views)


def _declared_account(
    prefix: str, account_id: int | None, desired: AccountDesired, profile_id: str | None
) -> list[ResourceView]:
    profile = f"{prefix}.call_settings"
    if profile_id is not None:
        profile += f"[{quoted(profile_id)}]"
    views = [
        _view("settings", f"{prefix}.settings", account_id, _declared_settings(desired)),
        _view("call_settings", profile, account_id, _declared_profile(desired)),
    ]
    views.extend(
        _view("user", f"{prefix}.user[{quoted(user.key)}]", account_id, _declared_user(user))
        for user in desired.users
    )
    return views


def _declared_settings(desired: AccountDesired) -> dict[str, Any]:
    # transcription = "off" leaves transcription_mode alone (SPEC section 3).
    mode = desired.transcription if desired.transcription != "off" else None
    return {
        "encrypted_recordings": desired.recordings_encrypted,
        "encrypted_recording_storage": desired.recordings_encrypted_storage,
        "transcription_mode": mode,
        "redaction_schedule": desired.redaction,
    }


def _declared_profile(desired: AccountDesired) -> dict[str, Any]:
    transcribes = None if desired.transcription is None else desired.transcription != "off"
    return {
        "inbound_recordings_on": desired.recordings_enabled,
        "outbound_recording_on": desired.recordings_enabled,
        "records": desired.recordings_enabled,
        "transcription": transcribes,
        "callerid_enabled": desired.caller_id_enabled,
        "premium_callerid_enabled": desired.caller_id_enhanced,
    }


def _declared_user(user: UserDesired) -> dict[str, Any]:
    email = user.key
    return {"email": email, "local_part": email.partition("@")[0], "role": user.role}


# -- live state (check, and plan's manual actions) -----------------------------------


def attestation_max_age_days(packs: Sequence[Pack], config: Config) -> int:
    """The strictest of the packs' ages; ``[attestations] max_age_days`` may shorten it."""
    ages = [p.attestation_max_age_days for p in packs] or [DEFAULT_ATTESTATION_MAX_AGE_DAYS]
    if config.attestations.max_age_days is not None:
        ages.append(config.attestations.max_age_days)
    return min(ages)


def live_views(
    config: Config,
    live: LiveState,
    scope: Scope,
    *,
    today: dt.date,
    packs: Sequence[Pack] = (),
    types: frozenset[str] | None = None,
) -> tuple[ResourceView, ...]:
    """Every resource read, the plan and classification of accounts, and attestations;
    only those of ``types`` when given (a plan's manual actions need a few types of
    10,000 accounts, not all). Only managed accounts are looked into; every listed
    account gets its classification."""
    views: list[ResourceView] = []
    if live.agency_security is not None:
        views.append(_security_view(live.agency_security))
    views.extend(_attestation_views(config, today, attestation_max_age_days(packs, config)))
    states = {state.id: state for state in live.accounts}  # LiveState.account() is linear
    views.extend(_classification_views(scope, states))
    for info in scope.managed:
        state = states.get(info.id)
        plan = state.plan if state is not None and state.plan is not None else info.plan
        views.append(
            _view(
                "plan",
                f"{account_address(info.id)}.plan",
                info.id,
                {"plan": normalize_plan(plan) if plan is not None else None},
            )
        )
        if state is not None:
            views.extend(_account_views(state, types))
    return tuple(v for v in views if types is None or v.resource_type in types)


def unexposed_collections(live: LiveState) -> frozenset[tuple[int | None, str]]:
    """(account id, resource type) of every collection whose read failed because the API
    does not expose it (``Unread.unexposed``: a 404 from an inferred endpoint). A fact
    attestation may cover rules over these, never over a read that went wrong."""
    return frozenset(
        (u.account_id, u.resource_type)
        for u in live.unread
        if u.unexposed and u.resource_type is not None
    )


def unread_collections(live: LiveState, scope: Scope) -> dict[tuple[int | None, str], str | None]:
    """(account id, resource type) of every collection a managed account did not have
    read, mapped to the reason when a read failed (``LiveState.unread``); the agency's
    security settings are ``(None, "agency.security")``, and when the account list could
    not be read, every account resource type is ``(None, type)``. Rules over them are
    ``error``, never a pass."""
    unread: dict[tuple[int | None, str], str | None] = {}
    if live.agency_security is None:
        unread[(None, "agency.security")] = None
    states = {state.id: state for state in live.accounts}
    for info in scope.managed:
        state = states.get(info.id)
        for kind, resource_type in KIND_RESOURCE_TYPES.items():
            if kind == "plan" and info.plan is not None:
                continue  # the account list gave it
            if state is None or getattr(state, kind) is None:
                unread[(info.id, resource_type)] = None
    for item in live.unread:
        if item.address == ACCOUNT_LIST_ADDRESS:
            for resource_type in (*KIND_RESOURCE_TYPES.values(), "plan", "account"):
                unread[(None, resource_type)] = item.reason
        elif item.resource_type is not None:
            unread[(item.account_id, item.resource_type)] = item.reason
        else:  # a whole account: every collection of it
            for resource_type in KIND_RESOURCE_TYPES.values():
                unread[(item.account_id, resource_type)] = item.reason
    return unread


def _security_view(security: AgencySecurity) -> ResourceView:
    return _view(
        "agency.security",
        AGENCY_ADDRESS,
        None,
        {
            "idle_timeout_minutes": security.idle_timeout_minutes,
            "two_factor": security.two_factor,
            "require_login_for_recordings": security.require_login_for_recordings,
            "allow_account_override": security.allow_account_override,
            "allow_email_mfa": security.allow_email_mfa,
            "recording_link_expiry_days": security.recording_link_expiry_days,
        },
    )


def is_ctm(counterparty: str) -> bool:
    """CallTrackingMetrics, case, spaces and punctuation aside ("Call-Tracking Metrics"
    is; "Acme Telecom" and "CallTrackingMetrics Inc" are not)."""
    letters = "".join(ch for ch in counterparty.lower() if ch.isalnum())
    return letters == BAA_COUNTERPARTY.lower()


def baa_evidence(baa: BaaAttestation) -> str:
    """What an auditor reads beside the BAA's result (SPEC section 7)."""
    text = (
        f"counterparty {baa.counterparty!r}, effective_on {baa.effective_on.isoformat()}, "
        f"confirmed_on {baa.confirmed_on.isoformat()} by {baa.by}"
    )
    if baa.document is None:
        return text + ", no document named"
    if baa.document_sha256 is None:
        return text + f", document {baa.document} (file not found beside the config)"
    return text + f", document {baa.document} (sha256 {baa.document_sha256})"


def baa_problem(baa: BaaAttestation) -> str | None:
    """Why an attested BAA proves nothing about CTM, or None when it does."""
    if not is_ctm(baa.counterparty):
        return f"counterparty is {baa.counterparty!r}, not {BAA_COUNTERPARTY}"
    if baa.effective_on > baa.confirmed_on:
        return (
            f"effective_on {baa.effective_on.isoformat()} is after confirmed_on "
            f"{baa.confirmed_on.isoformat()}: it was not in force when confirmed"
        )
    return None


def _attestation_views(config: Config, today: dt.date, max_age: int) -> list[ResourceView]:
    baa, logins = config.attestations.baa, config.attestations.individual_logins
    found: dict[str, tuple[dt.date | None, str | None, str | None]] = {
        "baa": (None, None, None)
        if baa is None
        else (baa.confirmed_on, baa_evidence(baa), baa_problem(baa)),
        "individual_logins": (None, None, None)
        if logins is None
        else (
            logins.confirmed_on,
            f"confirmed_on {logins.confirmed_on.isoformat()} by {logins.by}",
            None,
        ),
    }
    views = []
    for name, (confirmed_on, evidence, problem) in sorted(found.items()):
        recent = confirmed_on is not None and 0 <= (today - confirmed_on).days <= max_age
        values = {
            "present": confirmed_on is not None,
            "current": recent and problem is None,
            "confirmed_on": confirmed_on.isoformat() if confirmed_on else None,
            "max_age_days": max_age,
            EVIDENCE_KEY: evidence,
            PROBLEM_KEY: problem,
        }
        address = f"attestation.{name}"
        views.append(_view(address, address, None, values))
    return views


def _classification_views(scope: Scope, states: Mapping[int, AccountState]) -> list[ResourceView]:
    classes = [
        *((info.id, "managed") for info in scope.managed),
        *((excluded.info.id, "excluded") for excluded in scope.excluded),
        *((info.id, "unclassified") for info in scope.unclassified),
    ]
    views = []
    for aid, label in sorted(classes):
        state = states.get(aid) if label == "managed" else None
        users = state.users if state is not None else None
        values = {"classification": label, **_admin_counts(users)}
        views.append(_view("account", account_address(aid), aid, values))
    return views


# Roles that administer an account (SPEC section 3: they count for the last-admin guard).
ADMIN_ROLES = frozenset({"admin", "agency_admin"})
# No more than 3 admins per account, or 10% of its users, whichever is larger (SPEC
# section 7, the extended pack; 164.308(a)(3)(ii)(B), minimum necessary access).
ADMIN_FLOOR, ADMIN_SHARE_PERCENT = 3, 10


def admin_limit(user_count: int) -> int:
    """The most admins an account of ``user_count`` users should have: max(3, 10%)."""
    return max(ADMIN_FLOOR, user_count * ADMIN_SHARE_PERCENT // 100)


def _admin_counts(users: Sequence[User] | None) -> dict[str, int | None]:
    """Derived fields of a managed account whose users were read; None otherwise."""
    if users is None:
        return {"user_count": None, "admin_count": None, "admins_over_limit": None}
    admins = sum(1 for u in users if u.role in ADMIN_ROLES)
    return {
        "user_count": len(users),
        "admin_count": admins,
        "admins_over_limit": max(0, admins - admin_limit(len(users))),
    }


def _account_views(state: AccountState, types: frozenset[str] | None) -> list[ResourceView]:
    prefix = account_address(state.id)
    views: list[ResourceView] = []
    if state.settings is not None and (types is None or "settings" in types):
        views.append(_view("settings", f"{prefix}.settings", state.id, _settings(state.settings)))
    for kind, items, values_of in (
        ("call_settings", state.call_settings, _profile),
        ("user", state.users, _user),
        ("notification", state.notifications, _field_list),
        ("trigger", state.triggers, _trigger),
        ("webhook", state.webhooks, _webhook),
        ("number", state.numbers, _number),
        ("integration", state.integrations, _integration),
    ):
        if types is None or kind in types:
            views.extend(_collection_views(prefix, state.id, kind, items, values_of))
    return views


def _collection_views(
    prefix: str,
    account_id: int,
    kind: str,
    items: Iterable[Any] | None,
    values_of: Callable[[Any], Mapping[str, Any]],
) -> list[ResourceView]:
    views = []
    for item in items or ():
        key = item.key if isinstance(item, User) else item.id
        views.append(_view(kind, f"{prefix}.{kind}[{quoted(key)}]", account_id, values_of(item)))
    return views


def _settings(settings: AccountSettings) -> dict[str, Any]:
    return {
        "encrypted_recordings": settings.encrypted_recordings,
        "encrypted_recording_storage": settings.encrypted_recording_storage,
        "transcription_mode": settings.transcription_mode,
        "redaction_schedule": settings.redaction_schedule,
    }


def _profile(profile: CallSettings) -> dict[str, Any]:
    return {
        "name": profile.name,
        "inbound_recordings_on": profile.inbound_recordings_on,
        "outbound_recording_on": profile.outbound_recording_on,
        "records": _records(profile),
        "transcription": profile.transcription,
        "callerid_enabled": profile.callerid_enabled,
        "premium_callerid_enabled": profile.premium_callerid_enabled,
    }


def _records(profile: CallSettings) -> bool | None:
    """Whether the profile records calls; None when a flag is unknown and none is on."""
    flags = (profile.inbound_recordings_on, profile.outbound_recording_on)
    if True in flags:
        return True
    return False if all(flag is False for flag in flags) else None


def _user(user: User) -> dict[str, Any]:
    return {
        "email": user.key,
        "local_part": user.key.partition("@")[0],
        "role": user.role,
        "status": user.status,
    }


def _field_list(item: Notification) -> dict[str, Any]:
    return {"name": item.name, "kind": item.kind, "fields": item.fields}


def placeholders(texts: Iterable[str]) -> tuple[str, ...]:
    """The field names a template's text names, lowercased (``Caller_Name`` is
    ``caller_name``), in the forms CTM templates use (SPEC section 3)."""
    found = {
        next(group for group in match.groups() if group).lower()
        for text in texts
        for match in _PLACEHOLDER.finditer(text)
    }
    return tuple(sorted(found))


def _trigger(trigger: Trigger) -> dict[str, Any]:
    texts = trigger.texts
    return {
        "name": trigger.name,
        "action_types": trigger.action_types,
        "placeholders": placeholders(texts) if texts is not None else None,
    }


def _webhook(webhook: Webhook) -> dict[str, Any]:
    return {
        "name": webhook.name,
        "scheme": webhook.scheme,
        "host": webhook.host,
        "https": webhook.scheme == "https" if webhook.scheme is not None else None,
        "with_resource_url": webhook.with_resource_url,
        "position": webhook.position,
    }


def _number(number: TrackingNumber) -> dict[str, Any]:
    return {"number": number.number, "name": number.name, "hipaa_eligible": number.hipaa_eligible}


def _integration(integration: Integration) -> dict[str, Any]:
    # Allow-list names compare case-insensitively ("Salesforce" = "salesforce").
    return {"name": integration.name.lower(), "enabled": integration.enabled}


# -- what a plan must read -----------------------------------------------------------


def read_only_resource_kinds(packs: Sequence[Pack], config: Config) -> frozenset[ResourceKind]:
    """Account collections a plan reads only because a pack checks them: numbers, and
    integrations only when the config declares ``[integrations]``."""
    kinds: set[ResourceKind] = set()
    for pack in packs:
        for rule in pack.rules:
            types = [rule.resource, *(c.over for c in rule.when if c.over is not None)]
            kinds.update(_READ_ONLY_KINDS[t] for t in types if t in _READ_ONLY_KINDS)
    if config.integrations is None:
        kinds.discard("integrations")
    return frozenset(kinds)
