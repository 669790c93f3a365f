"""The one place that knows CTM JSON: replies become state dataclasses, changes become requests.

The mapping speaks to any ``Transport`` (HTTP for the real API, in process for the
embedded sandbox) through the paths of an ``EndpointTable``, so both providers share it.
The shapes follow ``ctm-api-evidence.md`` (CTM's SDKs and schemas generated from live
replies), which wins over SPEC section 4 where they differ.

Reading (SPEC section 4): unknown reply fields are ignored; ids sent as strings or
integers become strings (account ids stay integers); an object that is not an object, has
no id, or a documented field missing is a ``ProviderError`` naming the endpoint, the
object id and the field. A *setting* whose value is not recognised (``15.0``, ``"weekly"``)
is kept as ``Unrecognized`` and a missing inferred one is ``None``: neither aborts the
read, and only the rules that need it fail to evaluate. A reply whose body says error is
an error whatever its HTTP status. Lists are paged by ``next_page`` (a full URL or a page
number) up to ``MAX_PAGES``; an id seen twice means the list changed while paging.

Writing: flat user bodies, never a password, never an email update; every write is
verified by reading the object again (the Terraform "inconsistent result after apply"
check); writes to inferred endpoints need ``allow_inferred_writes``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from hipaactl.errors import ProviderError
from hipaactl.model.changes import Change
from hipaactl.model.state import (
    REDACTION_SCHEDULES,
    RESOURCE_KINDS,
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
    Unrecognized,
    User,
    Webhook,
    json_value,
    state_values,
)
from hipaactl.providers.ctm.endpoints import INFERRED_WRITES, EndpointTable
from hipaactl.providers.ctm.transport import Method, Transport, UncertainWriteError

# CTM refuses per_page above 150; asking for the most keeps request counts at the floor.
PER_PAGE = 150
# A paging chain longer than this is a server that never ends its list.
MAX_PAGES = 10_000
# A POST whose outcome is unknown is re-read and retried at most this many times in all.
MAX_CREATE_ATTEMPTS = 3
CHANGED_WHILE_PAGING = "the list changed while paging; run again"
T = TypeVar("T")
DOCTOR_HINT = "run `hipaactl doctor` to compare the endpoint with what hipaactl expects"

ValueKind = Literal[
    "account_id", "object_id", "int", "bool", "str", "text", "choice", "str_list", "status"
]


@dataclass(frozen=True)
class Field:
    """One JSON key of a CTM object; ``key`` is also the state attribute it fills.

    ``required``: documented (or an identity), so missing is an error, not None.
    ``setting``: a value that is not recognised is kept as ``Unrecognized``, not an error.
    """

    key: str
    kind: ValueKind
    required: bool
    choices: tuple[str, ...] = ()
    setting: bool = False


def _setting(key: str, kind: ValueKind, required: bool, choices: tuple[str, ...] = ()) -> Field:
    return Field(key, kind, required, choices, setting=True)


ACCOUNT_FIELDS = (
    Field("id", "account_id", True),
    Field("name", "text", True),
    Field("status", "status", True),
    Field("plan", "text", False),  # not in CTM's list: read from the detail when needed
)
ACCOUNT_DETAIL_FIELDS = (Field("plan", "text", False),)
AGENCY_SECURITY_FIELDS = (
    _setting("idle_timeout_minutes", "int", False),
    _setting("two_factor", "choice", False, TWO_FACTOR_MODES),
    _setting("require_login_for_recordings", "bool", False),
    _setting("allow_account_override", "bool", False),
    _setting("allow_email_mfa", "bool", False),
    _setting("recording_link_expiry_days", "int", False),
)
ACCOUNT_SETTINGS_FIELDS = (
    _setting("encrypted_recordings", "bool", False),
    _setting("encrypted_recording_storage", "bool", False),
    _setting("transcription_mode", "choice", False, TRANSCRIPTION_MODES),
    _setting("redaction_schedule", "choice", False, REDACTION_SCHEDULES),
)
CALL_SETTINGS_FIELDS = (
    Field("id", "object_id", True),
    Field("name", "text", True),
    _setting("inbound_recordings_on", "bool", True),
    _setting("outbound_recording_on", "bool", True),
    _setting("transcription", "bool", True),
    _setting("callerid_enabled", "bool", False),  # one third-party schema only: inferred
    _setting("premium_callerid_enabled", "bool", True),
)
USER_FIELDS = (
    Field("id", "object_id", True),
    Field("email", "str", True),
    Field("first_name", "text", True),
    Field("last_name", "text", True),
    Field("role", "str", True),  # any string: CTM has more roles than the config names
    Field("status", "text", True),
)
NUMBER_FIELDS = (
    Field("id", "object_id", True),
    Field("number", "str", True),
    Field("name", "text", True),
    _setting("hipaa_eligible", "bool", False),
)
TRIGGER_FIELDS = (
    Field("id", "object_id", True),
    Field("name", "text", True),
)
WEBHOOK_FIELDS = (
    Field("id", "object_id", True),
    Field("name", "text", False),
    Field("weburl", "str", True),
    _setting("with_resource_url", "bool", False),
    Field("position", "str", False),
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
    _setting("enabled", "bool", True),
)

# What a change may write, per resource type: the state names, which are CTM's keys.
# The email is the user's identity: it is sent to create a user, never to update one.
WRITABLE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "agency.security": tuple(f.key for f in AGENCY_SECURITY_FIELDS),
    "settings": tuple(f.key for f in ACCOUNT_SETTINGS_FIELDS),
    "call_settings": tuple(f.key for f in CALL_SETTINGS_FIELDS[2:]),
    "user": ("first_name", "last_name", "role"),
    "notification": ("fields",),
}
USER_CREATE_FIELDS = ("email", "first_name", "last_name", "role")

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


def _to_status(value: Any, _field: Field) -> str:
    """CTM's account status is a string; the C# SDK also accepts a list of them."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
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
    "status": _to_status,
}


def _read_fields(obj: Any, fields: tuple[Field, ...], endpoint: str, what: str) -> dict[str, Any]:
    """The values of ``fields`` in one reply object, converted to their state types."""
    if not isinstance(obj, Mapping):
        raise ProviderError(f"{what} is not a JSON object", endpoint=endpoint, hint=DOCTOR_HINT)
    values: dict[str, Any] = {}
    for field in fields:
        if field.key not in obj:
            if field.required:
                raise ProviderError(
                    f"{what} has no field {field.key!r}", endpoint=endpoint, hint=DOCTOR_HINT
                )
            values[field.key] = None  # an inferred field CTM did not return
            continue
        try:
            values[field.key] = CONVERTERS[field.kind](obj[field.key], field)
        except _UnreadableError:
            if field.setting:
                values[field.key] = Unrecognized(obj[field.key])  # kept, shown, guarded
            elif field.required:
                raise ProviderError(
                    f"{what} has an unexpected {field.key!r}: {obj[field.key]!r}",
                    endpoint=endpoint,
                    hint=DOCTOR_HINT,
                ) from None
            else:
                values[field.key] = None  # an inferred field we cannot read: rules needing it error
    return values


def _label(name: str, position: int, obj: Any) -> str:
    label = f"{name} item {position}"
    if isinstance(obj, Mapping) and "id" in obj:
        label += f" (id {obj['id']!r})"
    return label


def _items(
    objects: list[Any], fields: tuple[Field, ...], endpoint: str, name: str
) -> Iterator[dict[str, Any]]:
    for position, obj in enumerate(objects):
        yield _read_fields(obj, fields, endpoint, _label(name, position, obj))


def error_in_body(payload: Any) -> str | None:
    """The server's reason when a parsed top-level body says error (SPEC section 4):
    ``"status": "error"``, ``"success": false``, a non-empty ``errors``, a non-null
    ``error``. The official SDKs treat these as failures whatever the HTTP status."""
    if not isinstance(payload, Mapping):
        return None
    said_error = (
        payload.get("status") == "error"
        or payload.get("success") is False
        or bool(payload.get("errors"))
        or payload.get("error") is not None
    )
    if not said_error:
        return None
    for key in ("reason", "error", "errors", "message"):
        value = payload.get(key)
        if value:
            return value if isinstance(value, str) else repr(value)
    return "the reply's body says the request failed"


def _texts(value: Any) -> Iterator[str]:
    """Every string inside a JSON value, whatever the key it sits under."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def trigger_actions(obj: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(action types, every string of every action) of ``routing_rules[].actions[]``;
    None when the structure is not the one the evidence shows (rules needing it error)."""
    rules = obj.get("routing_rules")
    if not isinstance(rules, list):
        return None
    types: list[str] = []
    texts: list[str] = []
    for rule in rules:
        actions = rule.get("actions") if isinstance(rule, Mapping) else None
        if not isinstance(actions, list):
            return None
        for action in actions:
            if not isinstance(action, Mapping) or not isinstance(action.get("type"), str):
                return None
            types.append(action["type"])
            texts.extend(_texts({k: v for k, v in action.items() if k != "type"}))
    return tuple(types), tuple(texts)


def _webhook_target(weburl: str) -> tuple[str | None, str | None]:
    """Scheme and host of a webhook's URL; the rest may carry a token and is dropped."""
    try:
        parts = urlsplit(weburl.strip())
        host = parts.hostname
    except ValueError:
        return None, None
    return (parts.scheme.lower() or None), (host.lower() if host else None)


def _same(left: Any, right: Any) -> bool:
    """Equal in value and in JSON type: ``True`` is not ``1``."""
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def verify_write(
    change: Change, before: Mapping[str, Any], after: Mapping[str, Any], endpoint: str
) -> None:
    """The object re-read after a 2xx write must hold every planned value, and every
    other mapped field must be as before the write (SPEC section 4); else ``ProviderError``
    naming each field, so the change is ``failed`` and never ``applied``."""
    planned = dict(change.after or {})
    problems: list[str] = []
    for key, wanted in sorted(planned.items()):
        got = after.get(key)
        if _same(got, json_value(wanted)):
            continue
        if _same(got, before.get(key)):
            problems.append(f"the API accepted the write but {key} is still {got!r}")
        else:
            problems.append(f"the API accepted the write but {key} is {got!r}, not {wanted!r}")
    for key in sorted(set(before) - set(planned)):
        if not _same(after.get(key), before[key]):
            problems.append(f"the write also changed {key}: {before[key]!r} -> {after.get(key)!r}")
    if problems:
        raise ProviderError(
            "; ".join(problems) + ": the endpoint contract may differ; run `hipaactl doctor`",
            endpoint=endpoint,
        )


class CtmProvider:
    """The Provider protocol over a CTM-compatible API. Holds no mutable state, so it is
    as thread-safe as its transport.

    ``allow_inferred_writes``: whether writes to the inferred endpoints of
    ``INFERRED_WRITES`` are allowed (``[provider] allow_inferred_writes``; the embedded
    sandbox, whose paths are the contract, always allows them).
    """

    def __init__(
        self,
        transport: Transport,
        endpoints: EndpointTable,
        *,
        allow_inferred_writes: bool = True,
    ) -> None:
        self._transport = transport
        self._endpoints = endpoints
        self._allow_inferred_writes = allow_inferred_writes
        self._readers: Mapping[ResourceKind, Callable[[int], Any]] = {
            "settings": self.read_settings,
            "call_settings": self.read_call_settings,
            "users": self.read_users,
            "notifications": self.read_notifications,
            "triggers": self.read_triggers,
            "numbers": self.read_numbers,
            "integrations": self.read_integrations,
            "webhooks": self.read_webhooks,
        }
        self._writers: Mapping[tuple[str, str], Callable[[Change], None]] = {
            ("agency.security", "update"): self._update_agency_security,
            ("settings", "update"): self._update_settings,
            ("call_settings", "update"): self._update_call_settings,
            ("user", "create"): self._create_user,
            ("user", "update"): self._update_user,
            ("user", "delete"): self._delete_user,
            ("notification", "update"): self._update_notification,
        }

    # ---- transport --------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        """The transport this provider reads through (``hipaactl doctor`` probes it)."""
        return self._transport

    @property
    def endpoint_table(self) -> EndpointTable:
        """The endpoint paths, with the config's overrides applied."""
        return self._endpoints

    def _call(
        self,
        name: str,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        endpoint = f"{method} {path}"
        try:
            payload = self._transport.request(method, path, params=params, body=body)
        except UncertainWriteError:
            raise
        except ProviderError as err:
            hint = self._endpoints.describe_inferred_404(name) if err.status == 404 else None
            if hint is None:
                raise
            if err.hint is not None:
                err.unexposed = True
                raise
            raise ProviderError(
                err.reason,
                status=err.status,
                endpoint=err.endpoint or endpoint,
                hint=hint,
                unexposed=True,
            ) from err
        reason = error_in_body(payload)
        if reason is not None:
            raise ProviderError(f"the reply says the request failed: {reason}", endpoint=endpoint)
        return payload

    def _get_object(self, name: str, account_id: int | None) -> tuple[Any, str]:
        path = self._endpoints.collection(name, account_id)
        return self._call(name, "GET", path), f"GET {path}"

    def _get_list(self, name: str, account_id: int | None) -> tuple[list[Any], str]:
        """Every item of a paged list (see ``_pages``) and the endpoint it came from."""
        items: list[Any] = []
        for page, _endpoint in self._pages(name, account_id):
            items.extend(page)
        return items, f"GET {self._endpoints.collection(name, account_id)}"

    def _pages(self, name: str, account_id: int | None) -> Iterator[tuple[list[Any], str]]:
        """The items of a paged list page by page, following ``next_page`` (a full URL or
        a page number) until it is null or ``total_pages`` is reached; a page may hold
        fewer items than asked for. An id seen twice, or more than ``MAX_PAGES`` pages,
        is a read error."""
        list_key = self._endpoints.endpoint(name).list_key
        assert list_key is not None, f"{name} is not a list endpoint"
        path = self._endpoints.collection(name, account_id)
        endpoint = f"GET {path}"
        params: Mapping[str, str | int] | None = {"page": 1, "per_page": PER_PAGE}
        ids: set[str] = set()
        target = path
        for number in range(1, MAX_PAGES + 1):
            page = self._call(name, "GET", target, params=params)
            if not isinstance(page, Mapping) or not isinstance(page.get(list_key), list):
                raise ProviderError(
                    f"the reply has no {list_key!r} list", endpoint=endpoint, hint=DOCTOR_HINT
                )
            for item in page[list_key]:
                item_id = item.get("id") if isinstance(item, Mapping) else None
                if item_id is not None:
                    if str(item_id) in ids:
                        raise ProviderError(
                            f"id {item_id!r} appears twice: {CHANGED_WHILE_PAGING}",
                            endpoint=endpoint,
                        )
                    ids.add(str(item_id))
            yield page[list_key], endpoint
            next_page = page.get("next_page")
            total_pages = page.get("total_pages")
            if next_page is None or (isinstance(total_pages, int) and number >= total_pages):
                return
            target, params = self._next_target(path, next_page, number, endpoint)
        raise ProviderError(
            f"the list did not end after {MAX_PAGES} pages", endpoint=endpoint, hint=DOCTOR_HINT
        )

    def _next_target(
        self, path: str, next_page: Any, number: int, endpoint: str
    ) -> tuple[str, Mapping[str, str | int] | None]:
        if _is_int(next_page) or (isinstance(next_page, str) and next_page.isdigit()):
            if int(next_page) != number + 1:
                raise ProviderError(
                    f"the reply's next_page {next_page!r} does not follow page {number}",
                    endpoint=endpoint,
                )
            return path, {"page": int(next_page), "per_page": PER_PAGE}
        if isinstance(next_page, str) and next_page:
            return next_page, None
        raise ProviderError(f"the reply's next_page {next_page!r} is not a URL", endpoint=endpoint)

    # ---- reads ------------------------------------------------------------------------

    def account_pages(self) -> Iterator[tuple[AccountInfo, ...]]:
        """The account list page by page, as each page arrives, so reading the first
        accounts can start while the rest are listed (SPEC section 10). Raises
        ProviderError as ``list_accounts`` does."""
        for objects, endpoint in self._pages("accounts", None):
            yield tuple(
                AccountInfo(**v) for v in _items(objects, ACCOUNT_FIELDS, endpoint, "accounts")
            )

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
        """``info``'s account with each kind in ``kinds`` read; the others stay None. The
        plan is read from the account detail when asked for and the list gave none."""
        if "plan" in kinds and info.plan is None:
            info = AccountInfo(info.id, info.name, info.status, self.read_plan(info.id))
        values = {
            kind: self._readers[kind](info.id)
            for kind in RESOURCE_KINDS
            if kind in kinds and kind != "plan"
        }
        return AccountState(info=info, **values)

    def read_plan(self, account_id: int) -> str | None:
        """The plan from the account detail (inferred path); None when it has none."""
        obj, endpoint = self._get_object("account_detail", account_id)
        if isinstance(obj, Mapping) and isinstance(obj.get("account"), Mapping):
            obj = obj["account"]
        what = f"account_detail (id {account_id})"
        plan: str | None = _read_fields(obj, ACCOUNT_DETAIL_FIELDS, endpoint, what)["plan"]
        return plan or None

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
        triggers = []
        for position, obj in enumerate(objects):
            values = _read_fields(
                obj, TRIGGER_FIELDS, endpoint, _label("automators", position, obj)
            )
            actions = trigger_actions(obj)
            types, texts = actions if actions is not None else (None, None)
            triggers.append(Trigger(**values, action_types=types, texts=texts))
        return tuple(sorted(triggers, key=lambda t: t.id))

    def read_webhooks(self, account_id: int) -> tuple[Webhook, ...]:
        """The account's webhooks, by id. Raises ProviderError."""
        objects, endpoint = self._get_list("webhooks", account_id)
        webhooks = []
        for values in _items(objects, WEBHOOK_FIELDS, endpoint, "webhooks"):
            # Only what the mapping names is kept: a receiver's username and password
            # never reach state, plans, fingerprints or logs.
            scheme, host = _webhook_target(values.pop("weburl"))
            webhooks.append(Webhook(**values, scheme=scheme, host=host))
        return tuple(sorted(webhooks, key=lambda w: w.id))

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

    def refused_writes(self, changes: Sequence[Change]) -> tuple[str, ...]:
        """The inferred endpoints ``changes`` would write to without the opt-in."""
        if self._allow_inferred_writes:
            return ()
        names = {INFERRED_WRITES.get(c.resource_type) for c in changes}
        return tuple(sorted(name for name in names if name is not None))

    def check_writes(self, changes: Sequence[Change]) -> None:
        """Refuse, before any write, changes to inferred endpoints without the opt-in
        (SPEC section 4): ``ProviderError`` naming the endpoints."""
        refused = self.refused_writes(changes)
        if refused:
            raise ProviderError(
                "refusing to write to inferred endpoints "
                f"({', '.join(refused)}): CTM documents no API for them; nothing was applied",
                hint="run `hipaactl doctor` to check them against your agency, then set "
                "[provider] allow_inferred_writes = true",
            )

    def apply_change(self, change: Change) -> None:
        """Send one change and verify it by reading the object again. Raises ProviderError
        for a resource the CTM API cannot write, a refused write, or a write the re-read
        does not show (SPEC section 4); UncertainWriteError when a write's outcome is
        unknown.
        """
        writer = self._writers.get((change.resource_type, change.action))
        if writer is None:
            raise ProviderError(
                f"{change.address}: a {change.resource_type} cannot be {change.action}d "
                "through the CTM API",
                hint="this is a read-only fact; change it in CTM by hand",
            )
        self.check_writes([change])
        writer(change)

    def close(self) -> None:
        """Close the transport."""
        self._transport.close()

    def cancel(self) -> None:
        """For an interrupted run: stop the transport's requests, if it can (the HTTP
        transport cuts those waiting for replies; the in-process one has nothing to cut)."""
        cancel = getattr(self._transport, "cancel", None)
        if cancel is not None:
            cancel()

    def _update_agency_security(self, change: Change) -> None:
        body = _changed_fields(change)
        before = state_values(self.read_agency_security())
        path = self._endpoints.item("agency_security", None, None)
        self._call("agency_security", "PUT", path, body=body)
        after = _reread(self.read_agency_security, f"PUT {path}")
        verify_write(change, before, state_values(after), f"PUT {path}")

    def _update_settings(self, change: Change) -> None:
        body, account_id = _changed_fields(change), _account_id(change)
        before = state_values(self.read_settings(account_id))
        path = self._endpoints.item("account_settings", account_id, None)
        self._call("account_settings", "PUT", path, body=body)
        after = _reread(lambda: self.read_settings(account_id), f"PUT {path}")
        verify_write(change, before, state_values(after), f"PUT {path}")

    def _update_call_settings(self, change: Change) -> None:
        self._update_list_item(change, "call_settings", self.read_call_settings)

    def _update_notification(self, change: Change) -> None:
        self._update_list_item(change, "notifications", self.read_notifications)

    def _update_list_item(
        self, change: Change, name: str, read: Callable[[int], Sequence[Any]]
    ) -> None:
        """PUT one item of a list endpoint and verify it by reading the list again (CTM
        has no item GET for these)."""
        body, account_id, object_id = (
            _changed_fields(change),
            _account_id(change),
            _object_id(change),
        )
        path = self._endpoints.item(name, account_id, object_id)
        before = _find(read(account_id), object_id, change, f"GET {path}")
        self._call(name, "PUT", path, body=body)
        after = _find(_reread(lambda: read(account_id), f"PUT {path}"), object_id, change,
                      f"PUT {path}")  # fmt: skip
        verify_write(change, state_values(before), state_values(after), f"PUT {path}")

    def _create_user(self, change: Change) -> None:
        """POST a flat user body (no password: hipaactl never sends one); when the
        reply is lost, re-read and POST again only if the email is still absent, so a
        user is never created twice. Verified by reading the users again."""
        account_id = _account_id(change)
        after = change.after or {}
        body = {k: json_value(after[k]) for k in USER_CREATE_FIELDS if k in after}
        missing = [k for k in USER_CREATE_FIELDS if k not in body]
        if missing:
            raise ProviderError(f"{change.address}: a new user needs {', '.join(missing)}")
        path = self._endpoints.collection("users", account_id)
        email = str(body["email"])
        for attempt in range(1, MAX_CREATE_ATTEMPTS + 1):
            try:
                self._call("users", "POST", path, body=body)
                break
            except UncertainWriteError:
                if self._find_user(account_id, email) is not None:
                    break
                if attempt == MAX_CREATE_ATTEMPTS:
                    raise
        created = _reread(lambda: self._find_user(account_id, email), f"POST {path}")
        if created is None:
            raise ProviderError(
                f"the API accepted the write but no user {email} is listed: the endpoint "
                "contract may differ; run `hipaactl doctor`",
                endpoint=f"POST {path}",
            )
        empty = dict.fromkeys(("first_name", "last_name", "role"), None)
        values = {**state_values(created), "email": email}  # CTM may change the case
        verify_write(change, {**values, **empty}, values, f"POST {path}")

    def _update_user(self, change: Change) -> None:
        body, account_id = _changed_fields(change), _account_id(change)
        before = self._confirmed_user(change, account_id)
        assert before.id is not None
        path = self._endpoints.item("users", account_id, before.id)
        self._call("users", "PUT", path, body=body)
        after = _reread(lambda: self._find_user(account_id, before.email), f"PUT {path}")
        if after is None:
            raise ProviderError(
                "the API accepted the write but the user is no longer listed",
                endpoint=f"PUT {path}",
            )
        verify_write(change, state_values(before), state_values(after), f"PUT {path}")

    def _delete_user(self, change: Change) -> None:
        """DELETE to the user's ``id``, sent only after a re-read confirms that id still
        carries the planned email; verified by a re-read after it."""
        account_id = _account_id(change)
        user = self._confirmed_user(change, account_id)
        assert user.id is not None
        path = self._endpoints.item("users", account_id, user.id)
        self._call("users", "DELETE", path)
        if _reread(lambda: self._find_user(account_id, user.email), f"DELETE {path}") is not None:
            raise ProviderError(
                "the API accepted the delete but the user is still listed: the endpoint "
                "contract may differ; run `hipaactl doctor`",
                endpoint=f"DELETE {path}",
            )

    def _confirmed_user(self, change: Change, account_id: int) -> User:
        """The live user a change is about, re-read now: by its id when the plan carries
        one (which must still have the planned email), else by email."""
        email = (_user_email(change) or "").lower()
        users = self.read_users(account_id)
        if change.object_id is not None:
            found = next((u for u in users if u.id == change.object_id), None)
            if found is not None and found.key != email:
                raise ProviderError(
                    f"{change.address}: user {change.object_id} now has another email; "
                    "nothing was written",
                    hint="run plan again",
                )
        else:
            found = next((u for u in users if u.key == email), None)
        if found is None or found.id is None:
            raise ProviderError(
                f"{change.address}: no user with this email in the account",
                hint="run plan again; the user may have been removed",
            )
        return found

    def _find_user(self, account_id: int, email: str) -> User | None:
        wanted = email.lower()
        return next((u for u in self.read_users(account_id) if u.key == wanted), None)


def _reread(read: Callable[[], T], endpoint: str) -> T:
    """The re-read that verifies a write CTM answered 2xx. When it cannot be made, the
    write may well have taken effect: its outcome is unknown, never "failed"."""
    try:
        return read()
    except UncertainWriteError:
        raise
    except ProviderError as err:
        raise UncertainWriteError(
            f"the write was answered 2xx but could not be verified: {err.message}",
            endpoint=endpoint,
            hint="run plan to see whether the change took effect",
        ) from None


def _find(items: Sequence[Any], object_id: str, change: Change, endpoint: str) -> Any:
    found = next((item for item in items if item.id == object_id), None)
    if found is None:
        raise ProviderError(
            f"{change.address}: no object with id {object_id!r} in the list",
            endpoint=endpoint,
            hint="run plan again; the object may have been removed",
        )
    return found


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
    """The flat request body of an update: the changed fields, under CTM's names."""
    writable = WRITABLE_FIELDS[change.resource_type]
    if not change.after:
        raise ProviderError(f"{change.address}: the update changes no field")
    unknown = sorted(set(change.after) - set(writable))
    if unknown:
        raise ProviderError(
            f"{change.address}: cannot write {', '.join(unknown)} (writable: {', '.join(writable)})"
        )
    return {key: json_value(value) for key, value in sorted(change.after.items())}
