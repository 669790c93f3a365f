"""What each managed resource should look like: config resolved against live state.

Only declared keys produce desired values (an undeclared key is not managed). Values
that depend on live data (which profiles exist, which fields a notification sends) are
computed here, so the diff stage compares like with like.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hipaactl.config.model import AccountDesired, Config
from hipaactl.model.addresses import AGENCY_ADDRESS, resource_address
from hipaactl.model.changes import ResourceType
from hipaactl.model.state import AccountState, AgencySecurity, ResourceKind, live_login_required
from hipaactl.model.unread import is_unread
from hipaactl.policy.model import Pack
from hipaactl.policy.phi import is_phi, phi_fields_for

LOGIN_REQUIRED_FIELD = "require_login_for_recordings"


@dataclass(frozen=True)
class DesiredResource:
    """Desired values of one existing resource's managed fields."""

    address: str
    resource_type: ResourceType
    account_id: int | None
    object_id: str | None
    values: Mapping[str, Any] = field(hash=False)
    depends_on: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class DesiredUser:
    """One declared user: its declared values (names only where declared) and the
    config key that declares it (``account[#0].user[#1]``), for plan-time errors."""

    values: Mapping[str, str] = field(hash=False)
    key_path: str = ""


@dataclass(frozen=True)
class DesiredUsers:
    """The declared users of one account; ``exact`` removes the undeclared ones."""

    account_id: int
    users: tuple[DesiredUser, ...] = field(hash=False)
    exact: bool = False


@dataclass(frozen=True)
class DesiredAccount:
    """One account's desired resources and users; ``unread`` holds the addresses of
    managed fields whose desired value depends on a live value that could not be read
    (a field list's ``fields``), so nothing can be planned for them."""

    resources: tuple[DesiredResource, ...]
    users: DesiredUsers | None
    unread: tuple[str, ...] = ()


def desired_for_account(config: Config, account_id: int) -> AccountDesired:
    """The account's desired settings: its ``[[account]]`` entry, else ``[defaults]``."""
    spec = config.spec_for(account_id)
    return spec.desired if spec is not None else config.defaults


def kinds_to_manage(desired: AccountDesired) -> frozenset[ResourceKind]:
    """The account collections a config's declared keys touch."""
    kinds: set[ResourceKind] = set()
    settings_keys = (
        desired.recordings_encrypted,
        desired.recordings_encrypted_storage,
        desired.redaction,
        desired.transcription,
    )
    profile_keys = (
        desired.recordings_enabled,
        desired.transcription,
        desired.caller_id_enabled,
        desired.caller_id_enhanced,
    )
    if any(v is not None for v in settings_keys):
        kinds.add("settings")
    if any(v is not None for v in profile_keys):
        # Settings too: the unsafe guard needs the account's encryption to judge recording.
        kinds.update(("call_settings", "settings"))
    if desired.users or desired.users_mode == "exact":
        kinds.add("users")
    if desired.phi_fields == "strip":
        kinds.add("notifications")
    return frozenset(kinds)


def _declared(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def settings_values(desired: AccountDesired) -> dict[str, Any]:
    """The declared account settings as CTM ``account_settings`` fields; transcription
    ``off`` leaves ``transcription_mode`` undeclared. Undeclared keys are left out.
    """
    mode = desired.transcription if desired.transcription != "off" else None
    return _declared(
        {
            "encrypted_recordings": desired.recordings_encrypted,
            "encrypted_recording_storage": desired.recordings_encrypted_storage,
            "transcription_mode": mode,
            "redaction_schedule": desired.redaction,
        }
    )


def call_settings_values(desired: AccountDesired) -> dict[str, Any]:
    """The declared keys as the CTM fields of each call settings profile; recordings on
    means both inbound and outbound. Undeclared keys are left out.
    """
    transcribes = None if desired.transcription is None else desired.transcription != "off"
    return _declared(
        {
            "inbound_recordings_on": desired.recordings_enabled,
            "outbound_recording_on": desired.recordings_enabled,
            "transcription": transcribes,
            "callerid_enabled": desired.caller_id_enabled,
            "premium_callerid_enabled": desired.caller_id_enhanced,
        }
    )


# The config key that declares each managed field: the inverse of ``settings_values``
# and ``call_settings_values`` (``import`` writes live values back under these keys).
# ``transcription`` declares two fields: the profiles' on/off and the account's mode.
SETTINGS_KEYS: Mapping[str, str] = {
    "encrypted_recordings": "recordings.encrypted",
    "encrypted_recording_storage": "recordings.encrypted_storage",
    "transcription_mode": "transcription",
    "redaction_schedule": "redaction",
}
CALL_SETTINGS_KEYS: Mapping[str, str] = {
    "inbound_recordings_on": "recordings.enabled",
    "outbound_recording_on": "recordings.enabled",
    "transcription": "transcription",
    "callerid_enabled": "caller_id.enabled",
    "premium_callerid_enabled": "caller_id.enhanced",
}


def _login_required(config: Config, agency: AgencySecurity | None) -> tuple[bool | None, bool]:
    """Whether login is required to hear recordings after the plan, and whether that
    value comes from a planned change (so dependent changes must wait for it)."""
    declared = config.agency_security.require_login_for_recordings
    live_value = live_login_required(agency)
    if declared is None:
        return live_value, False
    return declared, declared != live_value


def _unread_field_lists(config: Config, account: AccountState) -> list[str]:
    """Managed notifications (``phi_fields = "strip"``) whose ``fields`` could not be read."""
    if desired_for_account(config, account.id).phi_fields != "strip":
        return []
    return [
        f"{resource_address(account.id, 'notification', item.id)}.fields"
        for item in account.notifications or ()
        if is_unread(item.fields)
    ]


def _field_list_resources(
    config: Config, packs: Sequence[Pack], agency: AgencySecurity | None, account: AccountState
) -> list[DesiredResource]:
    desired = desired_for_account(config, account.id)
    if desired.phi_fields != "strip":
        return []
    login_required, login_planned = _login_required(config, agency)
    phi = phi_fields_for(
        packs, extra=desired.extra_phi_fields, require_login_for_recordings=login_required
    )
    found: list[DesiredResource] = []
    # Triggers are read only (CTM publishes no write shape): only notifications are
    # stripped; a trigger that sends PHI is a manual action.
    for item in account.notifications or ():
        if item.fields is None:
            continue  # not readable: nothing to compute from (``_unread_field_lists``)
        kept = tuple(f for f in item.fields if not is_phi(f, phi))
        removed = sorted(set(item.fields) - set(kept))
        keeps_login_field = login_planned and any(f.lower() == "recording_url" for f in kept)
        depends = (AGENCY_ADDRESS,) if keeps_login_field and removed else ()
        reasons = [f"removes PHI fields: {', '.join(removed)}"] if removed else []
        if depends:
            reasons.append(
                "keeps recording_url: safe once agency.security requires login to hear recordings"
            )
        found.append(
            DesiredResource(
                address=resource_address(account.id, "notification", item.id),
                resource_type="notification",
                account_id=account.id,
                object_id=item.id,
                values={"fields": list(kept)},
                depends_on=depends,
                reasons=tuple(reasons),
            )
        )
    return found


def _account_resources(config: Config, account: AccountState) -> list[DesiredResource]:
    desired = desired_for_account(config, account.id)
    found: list[DesiredResource] = []
    settings = settings_values(desired)
    if settings and account.settings is not None:
        found.append(
            DesiredResource(
                address=resource_address(account.id, "settings"),
                resource_type="settings",
                account_id=account.id,
                object_id=None,
                values=settings,
            )
        )
    profile = call_settings_values(desired)
    for call_settings in account.call_settings or () if profile else ():
        found.append(
            DesiredResource(
                address=resource_address(account.id, "call_settings", call_settings.id),
                resource_type="call_settings",
                account_id=account.id,
                object_id=call_settings.id,
                values=profile,
            )
        )
    return found


def _desired_users(config: Config, account: AccountState) -> DesiredUsers | None:
    desired = desired_for_account(config, account.id)
    if not desired.users and desired.users_mode != "exact":
        return None
    spec = config.spec_for(account.id)
    prefix = f"account[#{spec.index}]" if spec is not None else "defaults"
    users = tuple(
        DesiredUser(
            _declared(
                {
                    "email": u.email,
                    "first_name": u.first_name,
                    "last_name": u.last_name,
                    "role": u.role,
                }
            ),
            f"{prefix}.user[#{u.index}]",
        )
        for u in desired.users
    )
    return DesiredUsers(account.id, users, exact=desired.users_mode == "exact")


def resolve_agency(config: Config, agency: AgencySecurity | None) -> DesiredResource | None:
    """The desired ``agency.security`` resource; None when nothing is declared or live
    agency security was not read.
    """
    values = _declared(
        {
            "idle_timeout_minutes": config.agency_security.idle_timeout_minutes,
            "two_factor": config.agency_security.two_factor,
            LOGIN_REQUIRED_FIELD: config.agency_security.require_login_for_recordings,
            "allow_account_override": config.agency_security.allow_account_override,
            "allow_email_mfa": config.agency_security.allow_email_mfa,
            "recording_link_expiry_days": config.agency_security.recording_link_expiry_days,
        }
    )
    if not values or agency is None:
        return None
    return DesiredResource(AGENCY_ADDRESS, "agency.security", None, None, values=values)


def resolve_account(
    config: Config, packs: Sequence[Pack], agency: AgencySecurity | None, account: AccountState
) -> DesiredAccount:
    """One account's desired state; ``agency`` is live agency security (it decides
    whether ``recording_url`` counts as PHI)."""
    resources = [
        *_account_resources(config, account),
        *_field_list_resources(config, packs, agency, account),
    ]
    users = _desired_users(config, account) if account.users is not None else None
    return DesiredAccount(tuple(resources), users, tuple(_unread_field_lists(config, account)))
