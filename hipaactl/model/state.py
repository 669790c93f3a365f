"""Frozen dataclasses of normalized live state, independent of any API's JSON.

A field that is ``None`` could not be read (an inferred field the API did not return);
a collection that is ``None`` was not read in this run. A setting that CTM returned
with a value this project does not recognise (``15.0`` where an integer is expected,
``"weekly"`` where a redaction schedule is) is kept as ``Unrecognized(raw)``: shown and
logged as it is, never as null, and never evaluated by a rule (SPEC section 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeAlias, TypeVar, get_args

from hipaactl.model.unread import Unread

TwoFactor = Literal["every_login", "every_30_days", "off"]
TranscriptionMode = Literal["standard", "secure", "enhanced"]
RedactionSchedule = Literal["off", "manual", "daily", "30_days", "60_days", "90_days"]
Role = Literal[
    "admin",
    "call_manager",
    "report_manager",
    "agent",
    "billing_manager",
    "marketing_manager",
    "agency_admin",
    "agency_billing_manager",
]
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
# The roles the config may declare: CTM's eight UI roles (SPEC section 2; CTM support
# article "User Roles"). A live role may be any string CTM returns.
ROLES: tuple[Role, ...] = (
    "admin",
    "call_manager",
    "report_manager",
    "agent",
    "billing_manager",
    "marketing_manager",
    "agency_admin",
    "agency_billing_manager",
)
# Roles that count as an admin for the last-admin guard (SPEC section 3).
ADMIN_ROLES: frozenset[str] = frozenset({"admin", "agency_admin"})
# Roles whose grant is a promotion the unsafe guard names (SPEC section 6).
PRIVILEGED_ROLES: frozenset[str] = frozenset({"admin", "agency_admin", "agency_billing_manager"})

# The resource kinds of an account that a run may read.
ResourceKind = Literal[
    "settings",
    "call_settings",
    "users",
    "notifications",
    "triggers",
    "numbers",
    "integrations",
    "webhooks",
    "plan",
]
# Derived from the Literal, so adding a kind is one edit, not two that can drift.
RESOURCE_KINDS: tuple[ResourceKind, ...] = get_args(ResourceKind)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Unrecognized:
    """A live value CTM returned that is not of the expected type or set, kept as is."""

    raw: Any

    def __str__(self) -> str:
        return repr(self.raw)

    def __hash__(self) -> int:
        # The raw value may be a list or an object; its repr is hashable.
        return hash(repr(self.raw))


# A setting as read: the recognised value, ``Unrecognized`` (present, not understood)
# or ``None`` (missing).
Setting: TypeAlias = T | Unrecognized | None


def recognized(value: T | Unrecognized | None) -> T | None:
    """The value when it was recognised, else None (unknown to every rule)."""
    return None if isinstance(value, Unrecognized) else value


def raw_value(value: Any) -> Any:
    """The JSON value as read: an ``Unrecognized`` gives back what CTM sent."""
    return value.raw if isinstance(value, Unrecognized) else value


def json_value(value: Any) -> Any:
    """A state value as the JSON it was read from: tuples (field lists) become lists and
    an unrecognised value is its raw JSON (shown and logged as it is, never as null)."""
    value = raw_value(value)
    return list(value) if isinstance(value, tuple) else value


def state_values(obj: Any) -> dict[str, Any]:
    """A flat state dataclass's fields as ``json_value``s. Much cheaper than
    ``dataclasses.asdict``, which deep-copies, on 10,000-account agencies."""
    return {f.name: json_value(getattr(obj, f.name)) for f in fields(obj)}


@dataclass(frozen=True, slots=True)
class AgencySecurity:
    idle_timeout_minutes: Setting[int]
    two_factor: Setting[TwoFactor]
    require_login_for_recordings: Setting[bool]
    allow_account_override: Setting[bool] = None
    allow_email_mfa: Setting[bool] = None
    recording_link_expiry_days: Setting[int] = None  # 0: links never expire


@dataclass(frozen=True, slots=True)
class AccountSettings:
    encrypted_recordings: Setting[bool]
    encrypted_recording_storage: Setting[bool]
    transcription_mode: Setting[TranscriptionMode]
    redaction_schedule: Setting[RedactionSchedule]


@dataclass(frozen=True, slots=True)
class CallSettings:
    """One call-settings profile ("config") of an account."""

    id: str
    name: str
    inbound_recordings_on: Setting[bool]
    outbound_recording_on: Setting[bool]
    transcription: Setting[bool]
    callerid_enabled: Setting[bool]  # inferred: one third-party schema only
    premium_callerid_enabled: Setting[bool]


@dataclass(frozen=True, slots=True)
class User:
    """One login of an account. ``role`` is any string CTM returns, kept as it is."""

    email: str
    first_name: str
    last_name: str
    role: str
    status: str = "active"
    id: str | None = None  # CTM's ``id`` (a string), never ``uid``

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
    """A CTM "automator" (read only). ``action_types`` are the ``type`` of every action of
    every routing rule; ``texts`` every string those actions hold, whatever the field:
    None when some action could not be read."""

    id: str
    name: str
    action_types: tuple[str, ...] | None
    texts: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Webhook:
    """A webhook (read only): it posts call records to a receiver. Only the scheme and
    host of ``weburl`` are kept: its path or query may carry a token, and the receiver's
    username and password are dropped when the reply is mapped (SPEC section 4)."""

    id: str
    name: str
    scheme: str | None
    host: str | None
    with_resource_url: Setting[bool]
    position: str | None


@dataclass(frozen=True, slots=True)
class TrackingNumber:
    id: str
    number: str
    name: str
    hipaa_eligible: Setting[bool]


@dataclass(frozen=True, slots=True)
class Integration:
    id: str
    name: str
    enabled: Setting[bool]


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What the account listing returns for every account of the agency. ``plan`` is
    None when the list does not carry it (CTM's does not): it is read from the account
    detail when a loaded pack checks it."""

    id: int
    name: str
    status: str  # a list of statuses is joined with ", "
    plan: str | None = None


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
    webhooks: tuple[Webhook, ...] | None = None

    @property
    def id(self) -> int:
        """The CTM account id (``info.id``)."""
        return self.info.id

    @property
    def plan(self) -> str | None:
        """The account's plan, None when it was not read."""
        return self.info.plan


@dataclass(frozen=True, slots=True)
class LiveState:
    """Everything one run read: the agency, every listed account, and the managed ones;
    ``unread`` names what it needed and could not read, with the reason."""

    agency_security: AgencySecurity | None
    all_accounts: tuple[AccountInfo, ...]
    accounts: tuple[AccountState, ...] = field(default=())
    unread: tuple[Unread, ...] = field(default=())

    def account(self, account_id: int) -> AccountState | None:
        """The managed account read with ``account_id``, or None if it was not read."""
        return next((a for a in self.accounts if a.id == account_id), None)


def live_login_required(agency: AgencySecurity | None) -> bool | None:
    """Whether live agency security requires a login to hear recordings; ``None`` when
    agency security was not read or its value is missing or not recognised. It decides
    whether ``recording_url`` is a PHI field (SPEC section 3)."""
    return recognized(agency.require_login_for_recordings) if agency else None
