"""The one place that knows CTM JSON: replies become state dataclasses, changes become requests.

The mapping speaks to any ``Transport`` (HTTP for the real API, in process for the
embedded sandbox) through the paths of an ``EndpointTable``, so both providers share it.

Field rules (SPEC section 4): unknown reply fields are ignored; a missing *documented*
field is a ``ProviderError`` naming the endpoint and the field; a missing or unreadable
*inferred* field becomes ``None`` in state, so only the rules that need it fail to
evaluate. Object ids are identities, not settings: every object must carry one. The few
inferred fields that state cannot hold as ``None`` (a notification's name and kind, an
integration's name and enabled flag) are required too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from hipaactl.errors import ProviderError
from hipaactl.model.changes import Change
from hipaactl.model.state import (
    REDACTION_SCHEDULES,
    RESOURCE_KINDS,
    ROLES,
    TRANSCRIPTION_MODES,
    TWO_FACTOR_MODES,
    AccountInfo,
    AccountSettings,
    AccountState,
    AgencySecurity,
    CallSettings,
    Integration,
    Notification,
    ResourceKind,
    TrackingNumber,
    Trigger,
    User,
)
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.transport import Method, Transport, UncertainWriteError

# CTM refuses per_page above 150; asking for the most keeps request counts at the floor.
PER_PAGE = 150
# A POST whose outcome is unknown is re-read and retried at most this many times in all.
MAX_CREATE_ATTEMPTS = 3

ValueKind = Literal["account_id", "object_id", "int", "bool", "str", "text", "choice", "str_list"]


@dataclass(frozen=True)
class Field:
    """One JSON key of a CTM object; ``key`` is also the state attribute it fills."""

    key: str
    kind: ValueKind
    required: bool  # documented (or an identity): missing is an error, not None
    choices: tuple[str, ...] = ()


ACCOUNT_FIELDS = (
    Field("id", "account_id", True),
    Field("name", "text", True),
    Field("status", "str", True),
    Field("plan", "text", True),
)
AGENCY_SECURITY_FIELDS = (
    Field("idle_timeout_minutes", "int", False),
    Field("two_factor", "choice", False, TWO_FACTOR_MODES),
    Field("require_login_for_recordings", "bool", False),
)
ACCOUNT_SETTINGS_FIELDS = (
    Field("encrypted_recordings", "bool", False),
    Field("encrypted_recording_storage", "bool", False),
    Field("transcription_mode", "choice", False, TRANSCRIPTION_MODES),
    Field("redaction_schedule", "choice", False, REDACTION_SCHEDULES),
)
CALL_SETTINGS_FIELDS = (
    Field("id", "object_id", True),
    Field("name", "text", True),
    Field("inbound_recordings_on", "bool", True),
    Field("outbound_recording_on", "bool", True),
    Field("transcription", "bool", True),
    Field("callerid_enabled", "bool", True),
    Field("premium_callerid_enabled", "bool", True),
)
USER_FIELDS = (
    Field("id", "object_id", True),
    Field("email", "str", True),
    Field("first_name", "text", True),
    Field("last_name", "text", True),
    Field("role", "choice", True, ROLES),
    Field("status", "str", True),
)
NUMBER_FIELDS = (
    Field("id", "object_id", True),
    Field("number", "str", True),
    Field("name", "text", True),
    Field("hipaa_eligible", "bool", False),
)
TRIGGER_FIELDS = (
    Field("id", "object_id", True),
    Field("name", "text", True),
    Field("kind", "str", True),
    Field("fields", "str_list", False),
)
NOTIFICATION_FIELDS = (
    Field("id", "object_id", True),
    Field("name", "text", True),
    Field("kind", "str", True),
    Field("fields", "str_list", False),
)
INTEGRATION_FIELDS = (
    Field("id", "object_id", True),
    Field("name", "text", True),
    Field("enabled", "bool", True),
)

# What a change may write, per resource type: the state names, which are CTM's keys.
WRITABLE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "agency.security": tuple(f.key for f in AGENCY_SECURITY_FIELDS),
    "settings": tuple(f.key for f in ACCOUNT_SETTINGS_FIELDS),
    "call_settings": tuple(f.key for f in CALL_SETTINGS_FIELDS[2:]),
    "user": ("email", "first_name", "last_name", "role"),
    "notification": ("fields",),
    "trigger": ("fields",),
}

_USER_ADDRESS = re.compile(r'\.user\["(?P<email>[^"]+)"\]$')


class _UnreadableError(Exception):
    """A value that is present but not of the expected type or set."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_account_id(value: Any, _field: Field) -> int:
    if _is_int(value):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _UnreadableError


def _to_object_id(value: Any, _field: Field) -> str:
    if (isinstance(value, str) and value) or _is_int(value):
        return str(value)
    raise _UnreadableError


def _to_int(value: Any, _field: Field) -> int:
    if _is_int(value):
        return int(value)
    raise _UnreadableError


def _to_bool(value: Any, _field: Field) -> bool:
    if isinstance(value, bool):
        return value
    raise _UnreadableError


def _to_str(value: Any, _field: Field) -> str:
    if isinstance(value, str):
        return value
    raise _UnreadableError


def _to_text(value: Any, _field: Field) -> str:
    # CTM sends null for blank names; a blank name is still a name.
    if value is None or isinstance(value, str):
        return value or ""
    raise _UnreadableError


def _to_choice(value: Any, field: Field) -> str:
    if isinstance(value, str) and value in field.choices:
        return value
    raise _UnreadableError


def _to_str_list(value: Any, _field: Field) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _UnreadableError


CONVERTERS: Mapping[ValueKind, Callable[[Any, Field], Any]] = {
    "account_id": _to_account_id,
    "object_id": _to_object_id,
    "int": _to_int,
    "bool": _to_bool,
    "str": _to_str,
    "text": _to_text,
    "choice": _to_choice,
    "str_list": _to_str_list,
}


def _read_fields(obj: Any, fields: tuple[Field, ...], endpoint: str, what: str) -> dict[str, Any]:
    """The values of ``fields`` in one reply object, converted to their state types."""
    if not isinstance(obj, Mapping):
        raise ProviderError(f"{what} is not a JSON object", endpoint=endpoint)
    values: dict[str, Any] = {}
    for field in fields:
        if field.key not in obj:
            if field.required:
                raise ProviderError(f"{what} has no field {field.key!r}", endpoint=endpoint)
            values[field.key] = None
            continue
        try:
            values[field.key] = CONVERTERS[field.kind](obj[field.key], field)
        except _UnreadableError:
            if field.required:
                raise ProviderError(
                    f"{what} has an unexpected {field.key!r}: {obj[field.key]!r}",
                    endpoint=endpoint,
                ) from None
            values[field.key] = None  # an inferred field we cannot read: rules needing it error
    return values


def _items(
    objects: list[Mapping[str, Any]], fields: tuple[Field, ...], endpoint: str, name: str
) -> Iterator[dict[str, Any]]:
    for position, obj in enumerate(objects):
        label = f"{name} item {position}"
        if isinstance(obj, Mapping) and "id" in obj:
            label += f" (id {obj['id']!r})"
        yield _read_fields(obj, fields, endpoint, label)


def _json_value(value: Any) -> Any:
    """State values as JSON: tuples (field lists) become lists."""
    return list(value) if isinstance(value, tuple) else value


class CtmProvider:
    """The Provider protocol over a CTM-compatible API. Holds no mutable state, so it is
    as thread-safe as its transport."""

    def __init__(self, transport: Transport, endpoints: EndpointTable) -> None:
        self._transport = transport
        self._endpoints = endpoints
        self._readers: Mapping[ResourceKind, Callable[[int], Any]] = {
            "settings": self.read_settings,
            "call_settings": self.read_call_settings,
            "users": self.read_users,
            "notifications": self.read_notifications,
            "triggers": self.read_triggers,
            "numbers": self.read_numbers,
            "integrations": self.read_integrations,
        }
        self._writers: Mapping[tuple[str, str], Callable[[Change], None]] = {
            ("agency.security", "update"): self._update_agency_security,
            ("settings", "update"): self._update_settings,
            ("call_settings", "update"): self._update_call_settings,
            ("user", "create"): self._create_user,
            ("user", "update"): self._update_user,
            ("user", "delete"): self._delete_user,
            ("notification", "update"): self._update_fields_list,
            ("trigger", "update"): self._update_fields_list,
        }

    # ---- transport --------------------------------------------------------------------

    def _call(
        self,
        name: str,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return self._transport.request(method, path, params=params, body=body)
        except UncertainWriteError:
            raise
        except ProviderError as err:
            hint = self._endpoints.describe_inferred_404(name) if err.status == 404 else None
            if hint is None or err.hint is not None:
                raise
            raise ProviderError(
                err.reason,
                status=err.status,
                endpoint=err.endpoint or f"{method} {path}",
                hint=hint,
            ) from err

    def _get_object(self, name: str, account_id: int | None) -> tuple[Any, str]:
        path = self._endpoints.collection(name, account_id)
        return self._call(name, "GET", path), f"GET {path}"

    def _get_list(self, name: str, account_id: int | None) -> tuple[list[Any], str]:
        """Every item of a paged list, following ``next_page`` (a full URL) to the end;
        a page may hold fewer items than asked for."""
        list_key = self._endpoints.endpoint(name).list_key
        assert list_key is not None, f"{name} is not a list endpoint"
        path = self._endpoints.collection(name, account_id)
        endpoint = f"GET {path}"
        params: Mapping[str, str | int] | None = {"page": 1, "per_page": PER_PAGE}
        items: list[Any] = []
        seen: set[str] = set()
        target = path
        while True:
            page = self._call(name, "GET", target, params=params)
            if not isinstance(page, Mapping) or not isinstance(page.get(list_key), list):
                raise ProviderError(f"the reply has no {list_key!r} list", endpoint=endpoint)
            items.extend(page[list_key])
            next_page = page.get("next_page")
            if next_page is None:
                return items, endpoint
            if not isinstance(next_page, str) or next_page in seen:
                raise ProviderError(
                    f"the reply's next_page {next_page!r} does not advance", endpoint=endpoint
                )
            seen.add(next_page)
            target, params = next_page, None

    # ---- reads ------------------------------------------------------------------------

    def list_accounts(self) -> tuple[AccountInfo, ...]:
        """Every account the credentials can see, sorted by id. Raises ProviderError."""
        objects, endpoint = self._get_list("accounts", None)
        infos = [AccountInfo(**v) for v in _items(objects, ACCOUNT_FIELDS, endpoint, "accounts")]
        return tuple(sorted(infos, key=lambda a: a.id))

    def read_agency_security(self) -> AgencySecurity:
        """The agency security object. Raises ProviderError for a failed read or an
        unexpected shape.
        """
        obj, endpoint = self._get_object("agency_security", None)
        values = _read_fields(obj, AGENCY_SECURITY_FIELDS, endpoint, "agency_security")
        return AgencySecurity(**values)

    def read_account(self, info: AccountInfo, kinds: frozenset[ResourceKind]) -> AccountState:
        """``info``'s account with each kind in ``kinds`` read; the others stay None."""
        values = {kind: self._readers[kind](info.id) for kind in RESOURCE_KINDS if kind in kinds}
        return AccountState(info=info, **values)

    def read_settings(self, account_id: int) -> AccountSettings:
        """The account's settings object. Raises ProviderError."""
        obj, endpoint = self._get_object("account_settings", account_id)
        values = _read_fields(obj, ACCOUNT_SETTINGS_FIELDS, endpoint, "account_settings")
        return AccountSettings(**values)

    def read_call_settings(self, account_id: int) -> tuple[CallSettings, ...]:
        """The account's call settings profiles, by id. Raises ProviderError."""
        objects, endpoint = self._get_list("call_settings", account_id)
        items = _items(objects, CALL_SETTINGS_FIELDS, endpoint, "call_settings")
        return tuple(sorted((CallSettings(**v) for v in items), key=lambda c: c.id))

    def read_users(self, account_id: int) -> tuple[User, ...]:
        """The account's users, by lower-cased email. Raises ProviderError, also when two
        users share an email case-blind (CTM treats emails so; they could not be addressed).
        """
        objects, endpoint = self._get_list("users", account_id)
        users = sorted(
            (User(**v) for v in _items(objects, USER_FIELDS, endpoint, "users")),
            key=lambda u: u.key,
        )
        for first, second in pairwise(users):
            if first.key == second.key:
                # CTM treats emails case-insensitively; two such users can't be addressed.
                raise ProviderError(
                    f"users {first.id} and {second.id} share the email {first.key!r}",
                    endpoint=endpoint,
                    hint="remove or rename one of them in CTM, then run again",
                )
        return tuple(users)

    def read_notifications(self, account_id: int) -> tuple[Notification, ...]:
        """The account's notifications, by id. Raises ProviderError."""
        objects, endpoint = self._get_list("notifications", account_id)
        items = _items(objects, NOTIFICATION_FIELDS, endpoint, "notifications")
        return tuple(sorted((Notification(**v) for v in items), key=lambda n: n.id))

    def read_triggers(self, account_id: int) -> tuple[Trigger, ...]:
        """The account's triggers, by id. Raises ProviderError."""
        objects, endpoint = self._get_list("triggers", account_id)
        items = _items(objects, TRIGGER_FIELDS, endpoint, "triggers")
        return tuple(sorted((Trigger(**v) for v in items), key=lambda t: t.id))

    def read_numbers(self, account_id: int) -> tuple[TrackingNumber, ...]:
        """The account's tracking numbers, by id. Raises ProviderError."""
        objects, endpoint = self._get_list("numbers", account_id)
        items = _items(objects, NUMBER_FIELDS, endpoint, "numbers")
        return tuple(sorted((TrackingNumber(**v) for v in items), key=lambda n: n.id))

    def read_integrations(self, account_id: int) -> tuple[Integration, ...]:
        """The account's integrations, by id. Raises ProviderError."""
        objects, endpoint = self._get_list("integrations", account_id)
        items = _items(objects, INTEGRATION_FIELDS, endpoint, "integrations")
        return tuple(sorted((Integration(**v) for v in items), key=lambda i: i.id))

    # ---- writes -----------------------------------------------------------------------

    def apply_change(self, change: Change) -> None:
        """Send one change. Raises ProviderError for a resource the CTM API cannot write or a
        refused write, UncertainWriteError when a write's outcome is unknown.
        """
        writer = self._writers.get((change.resource_type, change.action))
        if writer is None:
            raise ProviderError(
                f"{change.address}: a {change.resource_type} cannot be {change.action}d "
                "through the CTM API",
                hint="this is a read-only fact; change it in CTM by hand",
            )
        writer(change)

    def close(self) -> None:
        """Close the transport."""
        self._transport.close()

    def _update_agency_security(self, change: Change) -> None:
        path = self._endpoints.item("agency_security", None, None)
        self._call("agency_security", "PUT", path, body=_changed_fields(change))

    def _update_settings(self, change: Change) -> None:
        path = self._endpoints.item("account_settings", _account_id(change), None)
        self._call("account_settings", "PUT", path, body=_changed_fields(change))

    def _update_call_settings(self, change: Change) -> None:
        path = self._endpoints.item("call_settings", _account_id(change), _object_id(change))
        self._call("call_settings", "PUT", path, body=_changed_fields(change))

    def _update_fields_list(self, change: Change) -> None:
        name = "notifications" if change.resource_type == "notification" else "triggers"
        path = self._endpoints.item(name, _account_id(change), _object_id(change))
        self._call(name, "PUT", path, body=_changed_fields(change))

    def _create_user(self, change: Change) -> None:
        """POST the user; when the reply is lost, re-read and POST again only if the
        email is still absent, so a user is never created twice."""
        account_id = _account_id(change)
        after = change.after or {}
        user = {k: after[k] for k in WRITABLE_FIELDS["user"] if k in after}
        if "email" not in user or "role" not in user:
            raise ProviderError(f"{change.address}: a new user needs an email and a role")
        path = self._endpoints.collection("users", account_id)
        for attempt in range(1, MAX_CREATE_ATTEMPTS + 1):
            try:
                self._call("users", "POST", path, body={"user": user})
                return
            except UncertainWriteError:
                if self._find_user_id(account_id, str(user["email"])) is not None:
                    return
                if attempt == MAX_CREATE_ATTEMPTS:
                    raise

    def _update_user(self, change: Change) -> None:
        account_id = _account_id(change)
        path = self._endpoints.item("users", account_id, self._user_id(change, account_id))
        self._call("users", "PUT", path, body={"user": _changed_fields(change)})

    def _delete_user(self, change: Change) -> None:
        account_id = _account_id(change)
        path = self._endpoints.item("users", account_id, self._user_id(change, account_id))
        self._call("users", "DELETE", path)

    def _user_id(self, change: Change, account_id: int) -> str:
        """The CTM id of the user a change is about; looked up by email when the plan
        does not carry it."""
        if change.object_id is not None:
            return change.object_id
        email = _user_email(change)
        user_id = self._find_user_id(account_id, email) if email else None
        if user_id is None:
            raise ProviderError(
                f"{change.address}: no user with this email in the account",
                hint="run plan again; the user may have been removed",
            )
        return user_id

    def _find_user_id(self, account_id: int, email: str) -> str | None:
        wanted = email.lower()
        return next((u.id for u in self.read_users(account_id) if u.key == wanted), None)


def _account_id(change: Change) -> int:
    if change.account_id is None:
        raise ProviderError(f"{change.address}: the change names no account")
    return change.account_id


def _object_id(change: Change) -> str:
    if change.object_id is None:
        raise ProviderError(f"{change.address}: the change names no object id")
    return change.object_id


def _user_email(change: Change) -> str | None:
    for values in (change.before, change.after):
        if values and isinstance(values.get("email"), str):
            return str(values["email"])
    match = _USER_ADDRESS.search(change.address)
    return match.group("email") if match else None


def _changed_fields(change: Change) -> dict[str, Any]:
    """The request body of an update: the changed fields, under CTM's names."""
    writable = WRITABLE_FIELDS[change.resource_type]
    if not change.after:
        raise ProviderError(f"{change.address}: the update changes no field")
    unknown = sorted(set(change.after) - set(writable))
    if unknown:
        raise ProviderError(
            f"{change.address}: cannot write {', '.join(unknown)} (writable: {', '.join(writable)})"
        )
    return {key: _json_value(value) for key, value in sorted(change.after.items())}
