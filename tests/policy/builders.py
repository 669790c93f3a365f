"""Builders for policy tests: a compliant world that each test bends in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hipaactl.config.model import (
    AccountDesired,
    AccountSelector,
    AccountSpec,
    AgencySecurityDesired,
    AllowedIntegration,
    Attestations,
    BaaAttestation,
    Config,
    IndividualLoginsAttestation,
    Override,
    ProviderSettings,
)
from hipaactl.model.state import (
    AccountInfo,
    AccountState,
    AgencySecurity,
    CallSettings,
    Integration,
    LiveState,
    Notification,
    TrackingNumber,
    Trigger,
    User,
)
from hipaactl.policy.model import Condition, Pack, ResourceView, Rule
from hipaactl.policy.packs import load_packs
from tests import builders as state_builders

TODAY = dt.date(2026, 6, 1)
CONFIG_PATH = Path("/srv/clinic/hipaa.toml")


def extended_pack() -> Pack:
    return load_packs(("ctm-hipaa-extended",), base_dir=Path("."))[0]


def builtin_packs(*ids: str) -> tuple[Pack, ...]:
    return load_packs(ids or ("ctm-hipaa-2018", "ctm-hipaa-current"), base_dir=Path("."))


# -- config --------------------------------------------------------------------------


def attestations(**overrides: Any) -> Attestations:
    base = Attestations(
        baa=BaaAttestation(
            counterparty="CallTrackingMetrics",
            effective_on=dt.date(2025, 3, 1),
            confirmed_on=dt.date(2026, 1, 15),
            by="compliance@clinic.example",
        ),
        individual_logins=IndividualLoginsAttestation(
            confirmed_on=dt.date(2026, 1, 15), by="compliance@clinic.example"
        ),
    )
    return replace(base, **overrides)


def config(**overrides: Any) -> Config:
    base = Config(
        path=CONFIG_PATH,
        sha256="0" * 64,
        version=1,
        policies=("ctm-hipaa-current",),
        provider=ProviderSettings(),
        agency_security=AgencySecurityDesired(),
        defaults=AccountDesired(),
        selector=AccountSelector(include=("*",)),
        accounts=(),
        attestations=attestations(),
        integrations=(
            AllowedIntegration(name="Salesforce", baa=True),
            AllowedIntegration(name="EHR", baa=True, host="ehr.clinic.example"),
        ),
        overrides=(),
        audit_path=CONFIG_PATH.parent / ".hipaactl" / "audit.jsonl",
    )
    return replace(base, **overrides)


def account_spec(account_id: int, index: int = 0, **desired: Any) -> AccountSpec:
    return AccountSpec(id=account_id, index=index, desired=AccountDesired(**desired))


def override(rule_id: str, expires_on: dt.date = dt.date(2026, 12, 31)) -> Override:
    return Override(
        rule_id=rule_id,
        enforcement="advisory",
        reason="manual redaction after each case",
        approved_by="privacy-officer@clinic.example",
        expires_on=expires_on,
    )


# -- live state ----------------------------------------------------------------------


# The generic state builders, with this package's defaults where they differ.
security = state_builders.agency
settings = state_builders.settings


def profile(profile_id: str = "CS1", **overrides: Any) -> CallSettings:
    return state_builders.profile(profile_id, **{"outbound_recording_on": False, **overrides})


def user(email: str = "Dr.Lee@Clinic.example", **overrides: Any) -> User:
    base = User(email=email, first_name="Ada", last_name="Lee", role="admin", id="U1")
    return replace(base, **overrides)


def notification(nid: str = "N1", fields: tuple[str, ...] | None = ("call_date",)) -> Notification:
    return Notification(id=nid, name="Missed call", kind="email", fields=fields)


def trigger(tid: str = "T1", fields: tuple[str, ...] | None = ("call_date",)) -> Trigger:
    """A trigger whose webhook action names ``fields`` as placeholders (None: unreadable)."""
    if fields is None:
        return Trigger(id=tid, name="Lead webhook", action_types=None, texts=None)
    text = "Lead: " + ", ".join(f"%{f}%" for f in fields)
    return Trigger(id=tid, name="Lead webhook", action_types=("webhook",), texts=(text,))


def number(nid: str = "TPN1", eligible: bool | None = True) -> TrackingNumber:
    return TrackingNumber(id=nid, number="+15555550100", name="Main line", hipaa_eligible=eligible)


def integration(iid: str = "I1", name: str = "Salesforce", enabled: bool = True) -> Integration:
    return Integration(id=iid, name=name, enabled=enabled)


def info(account_id: int = 1001, plan: str = "Advanced", name: str = "") -> AccountInfo:
    return AccountInfo(
        id=account_id, name=name or f"Clinic {account_id}", status="active", plan=plan
    )


def account(account_id: int = 1001, plan: str = "Advanced", **collections: Any) -> AccountState:
    base: dict[str, Any] = {
        "settings": settings(),
        "call_settings": (profile(),),
        "users": (user(),),
        "notifications": (notification(),),
        "triggers": (trigger(),),
        "webhooks": (state_builders.webhook(),),
        "numbers": (number(),),
        "integrations": (integration(),),
    }
    base.update(collections)
    return AccountState(info=info(account_id, plan), **base)


def live(
    *accounts: AccountState,
    agency_security: AgencySecurity | None = None,
    others: Sequence[AccountInfo] = (),
) -> LiveState:
    """``others`` are listed accounts that were not read (excluded or unclassified)."""
    accounts = accounts or (account(),)
    return LiveState(
        agency_security=agency_security if agency_security is not None else security(),
        all_accounts=(*(a.info for a in accounts), *others),
        accounts=accounts,
    )


# -- synthetic rules -----------------------------------------------------------------


def view(
    resource_type: str, address: str, account_id: int | None = None, **values: Any
) -> ResourceView:
    return ResourceView(resource_type, address, account_id, values)


def rule(
    check: Condition,
    *,
    resource: str = "agency.security",
    when: Sequence[Condition] = (),
    rule_id: str = "T-01",
    enforcement: str = "mandatory",
) -> Rule:
    return Rule(
        id=rule_id,
        pack_id="test",
        title="test rule",
        hipaa=("45 CFR 164.312(d)",),
        hipaa_type="required",
        source="test",
        severity="high",
        enforcement=enforcement,  # type: ignore[arg-type]
        resource=resource,
        when=tuple(when),
        check=check,
        remediation="fix it",
    )


def pack(*rules: Rule, **overrides: Any) -> Pack:
    base = Pack(
        id="test",
        version="0",
        title="test pack",
        sha256="0" * 64,
        eligible_plans=("advanced", "marketing_pro"),
        phi_fields=("caller_name", "transcription"),
        login_protected_fields=("recording_url",),
        shared_mailbox_local_parts=("frontdesk", "front.desk"),
        attestation_max_age_days=365,
        rules=rules,
        source_path="builtin:test",
    )
    return replace(base, **overrides)
