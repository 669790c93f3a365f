"""Frozen dataclasses of normalized live state, independent of any API's JSON.

A field that is ``None`` could not be read (an inferred field the API did not return);
a collection that is ``None`` was not read in this run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TwoFactor = Literal["every_login", "every_30_days", "off"]
TranscriptionMode = Literal["standard", "secure", "enhanced"]
RedactionSchedule = Literal["off", "manual", "daily", "30_days", "60_days", "90_days"]
Role = Literal["admin", "call_manager", "report_manager", "agent"]
NotificationKind = Literal["email", "sms", "export", "webhook"]

TWO_FACTOR_MODES: tuple[TwoFactor, ...] = ("every_login", "every_30_days", "off")
TRANSCRIPTION_MODES: tuple[TranscriptionMode, ...] = ("standard", "secure", "enhanced")
REDACTION_SCHEDULES: tuple[RedactionSchedule, ...] = (
    "off",
    "manual",
    "daily",
    "30_days",
    "60_days",
    "90_days",
)
ROLES: tuple[Role, ...] = ("admin", "call_manager", "report_manager", "agent")

# The resource kinds of an account that a run may read.
ResourceKind = Literal[
    "settings",
    "call_settings",
    "users",
    "notifications",
    "triggers",
    "numbers",
    "integrations",
]
RESOURCE_KINDS: tuple[ResourceKind, ...] = (
    "settings",
    "call_settings",
    "users",
    "notifications",
    "triggers",
    "numbers",
    "integrations",
)


@dataclass(frozen=True, slots=True)
class AgencySecurity:
    idle_timeout_minutes: int | None
    two_factor: TwoFactor | None
    require_login_for_recordings: bool | None


@dataclass(frozen=True, slots=True)
class AccountSettings:
    encrypted_recordings: bool | None
    encrypted_recording_storage: bool | None
    transcription_mode: TranscriptionMode | None
    redaction_schedule: RedactionSchedule | None


@dataclass(frozen=True, slots=True)
class CallSettings:
    """One call-settings profile ("config") of an account."""

    id: str
    name: str
    inbound_recordings_on: bool
    outbound_recording_on: bool
    transcription: bool
    callerid_enabled: bool
    premium_callerid_enabled: bool


@dataclass(frozen=True, slots=True)
class User:
    email: str
    first_name: str
    last_name: str
    role: Role
    status: str = "active"
    id: str | None = None

    @property
    def key(self) -> str:
        """CTM treats emails case-insensitively: one login per lowercased address."""
        return self.email.lower()


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    name: str
    kind: str
    fields: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    name: str
    kind: str
    fields: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class TrackingNumber:
    id: str
    number: str
    name: str
    hipaa_eligible: bool | None


@dataclass(frozen=True, slots=True)
class Integration:
    id: str
    name: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What the account listing returns for every account of the agency."""

    id: int
    name: str
    status: str
    plan: str


@dataclass(frozen=True, slots=True)
class AccountState:
    info: AccountInfo
    settings: AccountSettings | None = None
    call_settings: tuple[CallSettings, ...] | None = None
    users: tuple[User, ...] | None = None
    notifications: tuple[Notification, ...] | None = None
    triggers: tuple[Trigger, ...] | None = None
    numbers: tuple[TrackingNumber, ...] | None = None
    integrations: tuple[Integration, ...] | None = None

    @property
    def id(self) -> int:
        """The CTM account id (``info.id``)."""
        return self.info.id


@dataclass(frozen=True, slots=True)
class LiveState:
    """Everything one run read: the agency, every listed account, and the managed ones."""

    agency_security: AgencySecurity | None
    all_accounts: tuple[AccountInfo, ...]
    accounts: tuple[AccountState, ...] = field(default=())

    def account(self, account_id: int) -> AccountState | None:
        """The managed account read with ``account_id``, or None if it was not read."""
        return next((a for a in self.accounts if a.id == account_id), None)
