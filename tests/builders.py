"""Builders for state and config values, so tests say only what matters to them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from hipaactl.config.model import (
    AccountDesired,
    AccountSelector,
    AccountSpec,
    AgencySecurityDesired,
    Attestations,
    Config,
    ProviderSettings,
    UserDesired,
)
from hipaactl.model.state import (
    AccountInfo,
    AccountSettings,
    AccountState,
    AgencySecurity,
    CallSettings,
    LiveState,
    Notification,
    Trigger,
    User,
    Webhook,
)


def agency(**overrides: Any) -> AgencySecurity:
    base = AgencySecurity(
        idle_timeout_minutes=15,
        two_factor="every_login",
        require_login_for_recordings=True,
        allow_account_override=False,
        allow_email_mfa=False,
        recording_link_expiry_days=7,
    )
    return replace(base, **overrides)


def settings(**overrides: Any) -> AccountSettings:
    base = AccountSettings(
        encrypted_recordings=True,
        encrypted_recording_storage=True,
        transcription_mode="secure",
        redaction_schedule="30_days",
    )
    return replace(base, **overrides)


def profile(profile_id: str = "CS1", **overrides: Any) -> CallSettings:
    base = CallSettings(
        id=profile_id,
        name=f"Profile {profile_id}",
        inbound_recordings_on=True,
        outbound_recording_on=True,
        transcription=True,
        callerid_enabled=False,
        premium_callerid_enabled=False,
    )
    return replace(base, **overrides)


def user(email: str, role: str = "agent", user_id: str | None = None, **overrides: Any) -> User:
    base = User(
        email=email,
        first_name="First",
        last_name="Last",
        role=role,  # type: ignore[arg-type]
        id=user_id or email.split("@", maxsplit=1)[0],
    )
    return replace(base, **overrides)


def notification(nid: str = "N1", fields: tuple[str, ...] = ("call_date",)) -> Notification:
    return Notification(id=nid, name=f"Notification {nid}", kind="email", fields=fields)


def trigger(tid: str = "T1", fields: tuple[str, ...] = ("call_date",)) -> Trigger:
    """A trigger whose one send_email action names ``fields`` as placeholders."""
    text = " ".join(f"{{{{{f}}}}}" for f in fields)
    return Trigger(id=tid, name=f"Trigger {tid}", action_types=("send_email",), texts=(text,))


def webhook(wid: str = "W1", url_scheme: str = "https") -> Webhook:
    return Webhook(wid, f"Webhook {wid}", url_scheme, "ehr.clinic.example", False, "end")


def account(account_id: int = 1001, **collections: Any) -> AccountState:
    info = AccountInfo(id=account_id, name=f"Clinic {account_id}", status="active", plan="advanced")
    return AccountState(info=info, **collections)


def live(*accounts: AccountState, agency_security: AgencySecurity | None = None) -> LiveState:
    return LiveState(
        agency_security=agency_security if agency_security is not None else agency(),
        all_accounts=tuple(a.info for a in accounts),
        accounts=tuple(accounts),
    )


def desired_user(email: str, role: str = "agent") -> UserDesired:
    return UserDesired(email=email, first_name="First", last_name="Last", role=role)  # type: ignore[arg-type]


def config(
    *,
    agency_security: AgencySecurityDesired | None = None,
    defaults: AccountDesired | None = None,
    accounts: tuple[tuple[int, AccountDesired], ...] = (),
    include: tuple[int | str, ...] | None = ("*",),
    policies: tuple[str, ...] = ("ctm-hipaa-current",),
    path: Path = Path("/tmp/hipaa.toml"),
) -> Config:
    return Config(
        path=path,
        sha256="0" * 64,
        version=1,
        policies=policies,
        provider=ProviderSettings(),
        agency_security=agency_security or AgencySecurityDesired(),
        defaults=defaults or AccountDesired(),
        selector=AccountSelector(include=include),
        accounts=tuple(
            AccountSpec(id=aid, index=i, desired=d) for i, (aid, d) in enumerate(accounts)
        ),
        attestations=Attestations(),
        integrations=None,
        overrides=(),
        audit_path=path.parent / ".hipaactl" / "audit.jsonl",
    )
