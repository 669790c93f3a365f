"""A CTM-compatible backend over one JSON document: the sandbox's single source of truth.

The document has the shape of SPEC section 4::

    {"agency": {"security": {...}},
     "accounts": [{"id", "name", "status", "plan", "settings": {...},
                   "call_settings": [...], "users": [...], "numbers": [...],
                   "triggers": [...], "webhooks": [...], "notifications": [...],
                   "integrations": [...]}]}

``handle`` answers the default paths of ``providers.ctm.endpoints`` in the shapes
``ctm-api-evidence.md`` shows: paged lists (``page``, ``per_page`` up to 150,
``next_page`` as a full URL), the account list without ``plan`` (the account detail has
it), triggers as ``automators``, flat user bodies with the created user under ``user``,
errors as ``{"status": "error", "reason": ...}``, validated writes. The in-process
transport and ``sandbox serve`` both call it. Objects are served as stored, unknown keys
included, so tests can build documents with missing or extra fields.

Two faults a real API may have can be switched on, to test that writes are verified:
``ignore_field`` accepts writes of that field but does not change it, and
``error_body_writes`` answers every write 200 with an error body without doing it. The
sandbox holds configuration only: there are no call or text records to read.
"""

from __future__ import annotations

import copy
import json
import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlencode, urlsplit

from hipaactl.errors import HipaactlError
from hipaactl.files import write_text_atomic
from hipaactl.model.state import REDACTION_SCHEDULES, ROLES, TRANSCRIPTION_MODES, TWO_FACTOR_MODES
from hipaactl.providers.ctm.endpoints import ENDPOINTS

Reply = tuple[int, Any]
Document = dict[str, Any]

DEFAULT_BASE_URL = "http://sandbox.hipaactl.invalid/api/v1"
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 150

# Account lists the document holds, keyed by endpoint name.
ACCOUNT_LISTS: Mapping[str, str] = {
    "call_settings": "call_settings",
    "users": "users",
    "numbers": "numbers",
    "triggers": "triggers",
    "webhooks": "webhooks",
    "notifications": "notifications",
    "integrations": "integrations",
}
# The key holding each paged list in a reply (``configs``, ``automators``, ...).
LIST_KEYS: Mapping[str, str] = {e.name: e.list_key for e in ENDPOINTS if e.list_key is not None}
# Keys of a stored account that are not served as account fields: its collections and
# settings have endpoints of their own. ``plan`` is in the detail, not in the list.
_NOT_ACCOUNT_FIELDS = frozenset({*ACCOUNT_LISTS.values(), "settings"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class SandboxDocumentError(HipaactlError):
    """The sandbox document does not have the shape of SPEC section 4."""


class DocumentStore(Protocol):
    """Where the backend persists its document after every successful write."""

    def save(self, document: Mapping[str, Any]) -> None:
        """Persist the whole document after a successful write."""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one.
    Raises OSError, and ValueError for NaN or an infinity (never valid JSON)."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


class JsonFileStore:
    """Saves the bare document to one file (``sandbox serve --state FILE``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, document: Mapping[str, Any]) -> None:
        """Write the document to ``path`` as JSON, atomically."""
        write_json_atomic(self.path, document)


# ---- write validation: data, interpreted by ``_valid_fields`` ---------------------------

ValueCheck = Callable[[Any], bool]


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_email(value: Any) -> bool:
    return isinstance(value, str) and _EMAIL.fullmatch(value) is not None


def _is_idle_timeout(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1440


def _is_link_expiry(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 365


def _is_field_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _one_of(choices: tuple[str, ...]) -> ValueCheck:
    return lambda value: value in choices


AGENCY_SECURITY_SCHEMA: Mapping[str, ValueCheck] = {
    "idle_timeout_minutes": _is_idle_timeout,
    "two_factor": _one_of(TWO_FACTOR_MODES),
    "require_login_for_recordings": _is_bool,
    "allow_account_override": _is_bool,
    "allow_email_mfa": _is_bool,
    "recording_link_expiry_days": _is_link_expiry,
}
ACCOUNT_SETTINGS_SCHEMA: Mapping[str, ValueCheck] = {
    "encrypted_recordings": _is_bool,
    "encrypted_recording_storage": _is_bool,
    "transcription_mode": _one_of(TRANSCRIPTION_MODES),
    "redaction_schedule": _one_of(REDACTION_SCHEDULES),
}
CALL_SETTINGS_SCHEMA: Mapping[str, ValueCheck] = {
    "name": _is_text,
    "inbound_recordings_on": _is_bool,
    "outbound_recording_on": _is_bool,
    "transcription": _is_bool,
    "callerid_enabled": _is_bool,
    "premium_callerid_enabled": _is_bool,
}
USER_SCHEMA: Mapping[str, ValueCheck] = {
    "email": _is_email,
    "first_name": _is_text,
    "last_name": _is_text,
    "role": _one_of(ROLES),
}
FIELDS_LIST_SCHEMA: Mapping[str, ValueCheck] = {"fields": _is_field_list}


class _RefusedError(Exception):
    """A request the backend answers with an error reply."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _valid_fields(body: Any, schema: Mapping[str, ValueCheck], what: str) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise _RefusedError(422, f"the {what} body must be a JSON object")
    for key, value in body.items():
        if key not in schema:
            raise _RefusedError(422, f"unknown {what} field {key!r}")
        if not schema[key](value):
            raise _RefusedError(422, f"invalid value for {what} field {key!r}: {value!r}")
    return dict(body)


def _user_body(body: Any) -> dict[str, Any]:
    """CTM's SDKs send users flat: ``{"email", "first_name", "last_name", "role"}``."""
    return _valid_fields(body, USER_SCHEMA, "user")


# ---- routing ------------------------------------------------------------------------------

Target = Literal["collection", "item"]


@dataclass(frozen=True)
class Route:
    endpoint: str
    target: Target
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Request:
    endpoint: str  # the endpoint name of the matched route
    path: str  # without the base path
    params: Mapping[str, str]  # from the path: aid, id
    query: Mapping[str, str]
    body: Any


def _compile(template: str) -> re.Pattern[str]:
    regex = re.escape(template).replace(r"\{aid\}", r"(?P<aid>[^/]+)")
    return re.compile("^" + regex.replace(r"\{id\}", r"(?P<id>[^/]+)") + "$")


def _routes() -> tuple[Route, ...]:
    routes: list[Route] = []
    for endpoint in ENDPOINTS:
        routes.append(Route(endpoint.name, "collection", _compile(endpoint.collection)))
        if endpoint.item is not None and endpoint.item != endpoint.collection:
            routes.append(Route(endpoint.name, "item", _compile(endpoint.item)))
    return tuple(routes)


ROUTES = _routes()


def _error(status: int, reason: str) -> Reply:
    return status, {"status": "error", "reason": reason}


def check_document(document: Any) -> None:
    """Shallow shape checks, so a bad seed fails at load and not on some later request."""
    if not isinstance(document, dict):
        raise SandboxDocumentError("the sandbox document must be a JSON object")
    agency = document.get("agency")
    if not isinstance(agency, dict) or not isinstance(agency.get("security"), dict):
        raise SandboxDocumentError('the sandbox document needs "agency": {"security": {...}}')
    accounts = document.get("accounts")
    if not isinstance(accounts, list):
        raise SandboxDocumentError('the sandbox document needs an "accounts" list')
    seen: set[int] = set()
    for position, account in enumerate(accounts):
        where = f"accounts[{position}]"
        if not isinstance(account, dict):
            raise SandboxDocumentError(f"{where} must be a JSON object")
        account_id = account.get("id")
        if not isinstance(account_id, int) or isinstance(account_id, bool):
            raise SandboxDocumentError(f"{where} needs an integer id")
        if account_id in seen:
            raise SandboxDocumentError(f"{where}: account id {account_id} appears twice")
        seen.add(account_id)
        settings = account.get("settings", {})
        if not isinstance(settings, dict):
            raise SandboxDocumentError(f"{where}.settings must be a JSON object")
        for key in ACCOUNT_LISTS.values():
            _check_objects(account.get(key, []), f"{where}.{key}")


def _check_objects(objects: Any, where: str) -> None:
    if not isinstance(objects, list):
        raise SandboxDocumentError(f"{where} must be a list")
    ids: set[str] = set()
    for position, obj in enumerate(objects):
        if not isinstance(obj, dict) or "id" not in obj:
            raise SandboxDocumentError(f"{where}[{position}] must be an object with an id")
        if str(obj["id"]) in ids:
            raise SandboxDocumentError(f"{where}: id {obj['id']!r} appears twice")
        ids.add(str(obj["id"]))


class SandboxBackend:
    """CTM's API over one in-memory document. Thread-safe: one lock guards every request,
    and the store is saved under it, so saves happen in the order of the writes."""

    def __init__(
        self,
        document: Document,
        *,
        store: DocumentStore | None = None,
        base_url: str = DEFAULT_BASE_URL,
        page_cap: int | None = None,
        ignore_field: str | None = None,
        error_body_writes: bool = False,
    ) -> None:
        check_document(document)
        self._document = document
        self._store = store
        self.base_url = base_url.rstrip("/")
        self.page_cap = page_cap
        self.ignore_field = ignore_field
        self.error_body_writes = error_body_writes
        self._lock = threading.Lock()
        self._accounts: dict[int, dict[str, Any]] = {a["id"]: a for a in document["accounts"]}
        self._last_user_id = _max_user_id(document)
        self._handlers: Mapping[tuple[str, Target, str], Callable[[Request], Reply]] = {
            ("accounts", "collection", "GET"): self._list_accounts,
            ("account_detail", "collection", "GET"): self._get_account,
            ("agency_security", "collection", "GET"): self._get_agency_security,
            ("agency_security", "collection", "PUT"): self._put_agency_security,
            ("account_settings", "collection", "GET"): self._get_settings,
            ("account_settings", "collection", "PUT"): self._put_settings,
            ("call_settings", "collection", "GET"): self._list_account_objects,
            ("call_settings", "item", "PUT"): self._put_call_settings,
            ("users", "collection", "GET"): self._list_account_objects,
            ("users", "collection", "POST"): self._post_user,
            ("users", "item", "PUT"): self._put_user,
            ("users", "item", "DELETE"): self._delete_user,
            ("numbers", "collection", "GET"): self._list_account_objects,
            ("triggers", "collection", "GET"): self._list_account_objects,
            ("webhooks", "collection", "GET"): self._list_account_objects,
            ("notifications", "collection", "GET"): self._list_account_objects,
            ("notifications", "item", "PUT"): self._put_fields_list,
            ("integrations", "collection", "GET"): self._list_account_objects,
        }

    @property
    def base_path(self) -> str:
        """The path part of ``base_url`` (``/api/v1``), which request paths may carry."""
        return urlsplit(self.base_url).path.rstrip("/")

    def endpoint_name(self, path: str) -> str | None:
        """The name of the endpoint-table entry a request path belongs to, or None."""
        stripped = self._strip_base(path)
        return next((r.endpoint for r in ROUTES if r.pattern.match(stripped)), None)

    def snapshot(self) -> Document:
        """A deep copy of the whole document."""
        with self._lock:
            return copy.deepcopy(self._document)

    def handle(self, method: str, path: str, query: Mapping[str, str], body: Any) -> Reply:
        """Answer one request: ``(status, JSON value)``. Never raises for a bad request."""
        path = self._strip_base(path)
        with self._lock:
            for route in ROUTES:
                match = route.pattern.match(path)
                if match is None:
                    continue
                handler = self._handlers.get((route.endpoint, route.target, method))
                if handler is None:
                    return _error(405, f"{method} is not allowed on {path}")
                request = Request(route.endpoint, path, match.groupdict(), query, body)
                if method != "GET" and self.error_body_writes:
                    # A real API may answer 200 and still refuse: nothing is written.
                    return 200, {"status": "error", "reason": "the write was not accepted"}
                if method in ("PUT", "POST") and self.ignore_field is not None:
                    request = _without(request, self.ignore_field)
                try:
                    status, reply = handler(request)
                except _RefusedError as refused:
                    return _error(refused.status, refused.reason)
                if method != "GET" and self._store is not None:
                    self._store.save(self._document)
                return status, reply
        return _error(404, f"no endpoint at {path}")

    def _strip_base(self, path: str) -> str:
        base = self.base_path
        if base and (path == base or path.startswith(base + "/")):
            path = path[len(base) :]
        return path.rstrip("/") or "/"

    # ---- lookups ----------------------------------------------------------------------

    def _account(self, params: Mapping[str, str]) -> dict[str, Any]:
        raw = params.get("aid", "")
        account = self._accounts.get(int(raw)) if raw.isdigit() else None
        if account is None:
            raise _RefusedError(404, f"no account {raw}")
        return account

    def _object(self, objects: list[dict[str, Any]], object_id: str, what: str) -> dict[str, Any]:
        for obj in objects:
            if str(obj["id"]) == object_id:
                return obj
        raise _RefusedError(404, f"no {what} {object_id}")

    # ---- paging -----------------------------------------------------------------------

    def _page(self, path: str, query: Mapping[str, str], list_key: str, items: list[Any]) -> Reply:
        page = _positive(query, "page", 1)
        per_page = _positive(query, "per_page", DEFAULT_PER_PAGE)
        if per_page > MAX_PER_PAGE:
            raise _RefusedError(400, f"per_page must be at most {MAX_PER_PAGE}")
        # A page cap serves fewer items than asked, as a real server may; pages then
        # follow the capped size and next_page keeps the asked-for per_page.
        size = min(per_page, self.page_cap) if self.page_cap else per_page
        total_pages = math.ceil(len(items) / size)
        start = (page - 1) * size
        next_page = None
        if page < total_pages:
            rest = {k: v for k, v in sorted(query.items()) if k not in ("page", "per_page")}
            rest.update(page=str(page + 1), per_page=str(per_page))
            next_page = f"{self.base_url}{path}?{urlencode(rest)}"
        return 200, {
            list_key: copy.deepcopy(items[start : start + size]),
            "page": page,
            "per_page": per_page,
            "total_entries": len(items),
            "total_pages": total_pages,
            "next_page": next_page,
        }

    # ---- handlers: one request in, one reply out --------------------------------------

    def _list_accounts(self, request: Request) -> Reply:
        # CTM's account list has no plan (ctm-api-evidence.md): the detail has it.
        summaries = [
            {k: v for k, v in a.items() if k not in _NOT_ACCOUNT_FIELDS and k != "plan"}
            for a in self._document["accounts"]
        ]
        return self._page(request.path, request.query, "accounts", summaries)

    def _get_account(self, request: Request) -> Reply:
        account = self._account(request.params)
        return 200, {
            k: copy.deepcopy(v) for k, v in account.items() if k not in _NOT_ACCOUNT_FIELDS
        }

    def _list_account_objects(self, request: Request) -> Reply:
        account = self._account(request.params)
        objects = account.get(ACCOUNT_LISTS[request.endpoint], [])
        return self._page(request.path, request.query, LIST_KEYS[request.endpoint], objects)

    def _get_agency_security(self, _request: Request) -> Reply:
        return 200, copy.deepcopy(self._document["agency"]["security"])

    def _put_agency_security(self, request: Request) -> Reply:
        changes = _valid_fields(request.body, AGENCY_SECURITY_SCHEMA, "agency security")
        security = self._document["agency"]["security"]
        security.update(changes)
        return 200, copy.deepcopy(security)

    def _get_settings(self, request: Request) -> Reply:
        return 200, copy.deepcopy(self._account(request.params).get("settings", {}))

    def _put_settings(self, request: Request) -> Reply:
        account = self._account(request.params)
        changes = _valid_fields(request.body, ACCOUNT_SETTINGS_SCHEMA, "account settings")
        settings = account.setdefault("settings", {})
        settings.update(changes)
        return 200, copy.deepcopy(settings)

    def _put_call_settings(self, request: Request) -> Reply:
        account = self._account(request.params)
        profiles = account.get("call_settings", [])
        profile = self._object(profiles, request.params["id"], "call settings")
        profile.update(_valid_fields(request.body, CALL_SETTINGS_SCHEMA, "call settings"))
        return 200, copy.deepcopy(profile)

    def _post_user(self, request: Request) -> Reply:
        account = self._account(request.params)
        fields = _user_body(request.body)
        missing = sorted(set(USER_SCHEMA) - set(fields))
        if missing:
            raise _RefusedError(422, f"a new user needs {', '.join(missing)}")
        users = account.setdefault("users", [])
        self._refuse_taken_email(users, fields["email"], None)
        uid = self._next_user_id()
        user = {"id": f"USR{uid:06d}", "uid": uid, **fields, "status": "active",
                "account_id": account["id"]}  # fmt: skip
        users.append(user)
        return 200, {"status": "success", "user": copy.deepcopy(user)}

    def _put_user(self, request: Request) -> Reply:
        users = self._account(request.params).get("users", [])
        user = self._object(users, request.params["id"], "user")
        fields = _user_body(request.body)
        if "email" in fields:
            self._refuse_taken_email(users, fields["email"], user)
        user.update(fields)
        return 200, copy.deepcopy(user)

    def _delete_user(self, request: Request) -> Reply:
        users = self._account(request.params).get("users", [])
        user = self._object(users, request.params["id"], "user")
        users.remove(user)
        return 200, {"status": "success", "user": copy.deepcopy(user)}

    def _put_fields_list(self, request: Request) -> Reply:
        account = self._account(request.params)
        what = request.endpoint.rstrip("s")  # notification
        objects = account.get(ACCOUNT_LISTS[request.endpoint], [])
        obj = self._object(objects, request.params["id"], what)
        obj.update(_valid_fields(request.body, FIELDS_LIST_SCHEMA, what))
        return 200, copy.deepcopy(obj)

    def _refuse_taken_email(
        self, users: list[dict[str, Any]], email: str, current: dict[str, Any] | None
    ) -> None:
        # CTM treats emails case-insensitively: one login per lowercased address.
        for user in users:
            if user is not current and str(user.get("email", "")).lower() == email.lower():
                raise _RefusedError(422, f"email {email} is already taken by user {user['id']}")

    def _next_user_id(self) -> int:
        """User ids are unique across the agency, like rows of one table."""
        self._last_user_id += 1
        return self._last_user_id


def _max_user_id(document: Document) -> int:
    """The highest ``uid`` (or numeric ``id``) of the document's users."""
    numeric = [
        int(number)
        for account in document["accounts"]
        for u in account.get("users", [])
        for number in (u.get("uid"), u["id"])
        if str(number).isdigit()
    ]
    return max(numeric, default=0)


def _without(request: Request, key: str) -> Request:
    """The request with ``key`` dropped from its body: the write is accepted, the field
    silently left as it was (the fault ``ignore_field`` injects)."""
    if not isinstance(request.body, Mapping) or key not in request.body:
        return request
    body = {k: v for k, v in request.body.items() if k != key}
    return Request(request.endpoint, request.path, request.params, request.query, body)


def _positive(query: Mapping[str, str], key: str, default: int) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise _RefusedError(400, f"{key} must be a positive integer, not {raw!r}")
    return int(raw)
