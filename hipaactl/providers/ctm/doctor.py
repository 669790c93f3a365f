"""``hipaactl doctor``: one read-only GET per needed endpoint, compared with the contract.

For the endpoints a run needs (SPEC section 12) it reports each path as a template,
whether CTM documents it, whether the config overrides it, the HTTP status, the list key,
and for every field the mapping reads whether it came with the expected JSON type; plus
the names of fields hipaactl does not read, the paging fields seen, rate-limit header
names, and whether CTM's error shape could be seen. It keeps key names, JSON type names
and counts only: never a value, an id, a name, an email or a number, so its JSON can be
attached to a bug report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hipaactl.errors import ProviderError
from hipaactl.model.state import ResourceKind
from hipaactl.providers.ctm.endpoints import ENDPOINTS_BY_NAME, EndpointTable, FieldSource
from hipaactl.providers.ctm.mapping import (
    ACCOUNT_DETAIL_FIELDS,
    ACCOUNT_FIELDS,
    ACCOUNT_SETTINGS_FIELDS,
    AGENCY_SECURITY_FIELDS,
    CALL_SETTINGS_FIELDS,
    INTEGRATION_FIELDS,
    NOTIFICATION_FIELDS,
    NUMBER_FIELDS,
    PER_PAGE,
    TRIGGER_FIELDS,
    USER_FIELDS,
    WEBHOOK_FIELDS,
    Field,
    ValueKind,
    error_in_body,
    trigger_actions,
)
from hipaactl.providers.ctm.transport import ProbeReply, Transport

DOCTOR_FORMAT_VERSION = "1"
# The reply keys CTM's paged lists carry (ctm-api-evidence.md, "paging").
PAGING_KEYS = ("page", "per_page", "total_entries", "total_pages", "next_page", "previous_page")
# The keys in which CTM's error replies carry their reason (SPEC section 4).
ERROR_KEYS = ("status", "reason", "error", "errors", "message", "success")
# One more than CTM allows per page: CTM answers it 400, which shows its error shape.
OVER_PAGE_LIMIT = PER_PAGE + 1
# The endpoint each kind of account resource is read from.
KIND_ENDPOINTS: Mapping[ResourceKind, str] = {
    "settings": "account_settings",
    "call_settings": "call_settings",
    "users": "users",
    "notifications": "notifications",
    "triggers": "triggers",
    "numbers": "numbers",
    "integrations": "integrations",
    "webhooks": "webhooks",
    "plan": "account_detail",
}

# A key name doctor shows: what CTM's own keys look like. Anything else (a key that holds
# an email, a phone number, control characters, a very long text) could be a value.
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")

Verdict = Literal["present", "other type", "missing", "unchecked: no items"]


@dataclass(frozen=True)
class Expected:
    """One reply field as doctor checks it: its key, the JSON type(s) the mapping
    accepts, and where the field was seen (documented, sdk, inferred)."""

    key: str
    type_label: str
    accepts: Callable[[Any], bool]
    source: FieldSource


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# The JSON types each mapping kind accepts (``mapping.CONVERTERS``), values aside.
_KIND_TYPES: Mapping[ValueKind, tuple[str, Callable[[Any], bool]]] = {
    "account_id": ("integer", lambda v: _is_int(v) or (isinstance(v, str) and v.isdigit())),
    "object_id": ("string or integer", lambda v: (isinstance(v, str) and bool(v)) or _is_int(v)),
    "int": ("integer", _is_int),
    "bool": ("boolean", lambda v: isinstance(v, bool)),
    "str": ("string", lambda v: isinstance(v, str)),
    "text": ("string or null", lambda v: v is None or isinstance(v, str)),
    "choice": ("string", lambda v: isinstance(v, str)),
    "str_list": ("list of strings", _str_list),
    "status": ("string or list of strings", lambda v: isinstance(v, str) or _str_list(v)),
}

_ROUTING_RULES = (
    "list of rules with actions",
    lambda v: trigger_actions({"routing_rules": v}) is not None,
)

# What each endpoint's items (or object) must hold. The account list carries no plan
# (ctm-api-evidence.md): it is read from the account detail, so doctor does not ask for it.
_MAPPED: Mapping[str, tuple[Field, ...]] = {
    "accounts": tuple(f for f in ACCOUNT_FIELDS if f.key != "plan"),
    "account_detail": ACCOUNT_DETAIL_FIELDS,
    "call_settings": CALL_SETTINGS_FIELDS,
    "users": USER_FIELDS,
    "numbers": NUMBER_FIELDS,
    "triggers": TRIGGER_FIELDS,
    "webhooks": WEBHOOK_FIELDS,
    "agency_security": AGENCY_SECURITY_FIELDS,
    "account_settings": ACCOUNT_SETTINGS_FIELDS,
    "notifications": NOTIFICATION_FIELDS,
    "integrations": INTEGRATION_FIELDS,
}


def expected_fields(name: str) -> tuple[Expected, ...]:
    """The fields doctor checks on endpoint ``name``, in the endpoint table's order."""
    kinds = {f.key: f.kind for f in _MAPPED[name]}
    found = []
    for key, source in ENDPOINTS_BY_NAME[name].fields:
        if key == "routing_rules":
            label, accepts = _ROUTING_RULES
        else:
            label, accepts = _KIND_TYPES[kinds[key]]
        found.append(Expected(key, label, accepts, source))
    return tuple(found)


def shown_names(names: Iterable[Any]) -> tuple[str, ...]:
    """Key names as doctor shows them, sorted: plain identifiers only; the others are
    counted in one entry, never shown, since a server might key objects by a value."""
    plain = sorted({n for n in names if isinstance(n, str) and _PLAIN_NAME.match(n)})
    hidden = len({str(n) for n in names} - set(plain))
    return (*plain, *([f"({hidden} other key names not shown)"] if hidden else []))


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


@dataclass(frozen=True)
class FieldReport:
    """How one mapped field came back over the items of a reply (or its one object)."""

    name: str
    source: FieldSource
    expected: str
    verdict: Verdict
    present: int  # items holding it with the expected type
    other_type: int
    missing: int
    types_seen: tuple[str, ...]  # JSON type names of the other-typed values


@dataclass(frozen=True)
class EndpointReport:
    """What one GET showed of one endpoint; ``problems`` are sentences without values."""

    name: str
    path: str  # a template: ``{aid}``, never an id
    status: str  # documented | inferred
    overridden: bool
    http_status: int | None
    list_key: str | None  # the key expected to hold the list; None for one object
    list_key_found: bool | None
    items: int | None
    fields: tuple[FieldReport, ...]
    unknown_fields: tuple[str, ...]
    paging_fields: tuple[str, ...]
    next_page: str | None  # "url", "page number", "null", or None when absent
    rate_limit_headers: tuple[str, ...]
    problems: tuple[str, ...]
    override_key: str | None = None  # the key to set when the path answered 404

    @property
    def ok(self) -> bool:
        """Answered 2xx in the expected shape, every mapped field as expected."""
        return not self.problems


@dataclass(frozen=True)
class ErrorShape:
    """Whether CTM's error shape could be seen: one GET asking for more than the
    documented page limit, which CTM answers 400 (ctm-api-evidence.md, "paging")."""

    attempted: bool
    http_status: int | None
    recognized: bool  # an error status with a body in a shape SPEC section 4 names
    body_keys: tuple[str, ...]


@dataclass(frozen=True)
class DoctorReport:
    provider: str
    accounts_listed: int | None
    accounts_managed: int | None
    account_chosen_by: str  # "--account", "first managed account", or "none"
    endpoints: tuple[EndpointReport, ...]
    error_shape: ErrorShape
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every needed endpoint answered in the expected shape (exit 0, SPEC section 12)."""
        return all(e.ok for e in self.endpoints) and not self.notes


# -- probing ---------------------------------------------------------------------------


def _template(table: EndpointTable, name: str) -> tuple[str, bool]:
    overridden = name in table.overrides
    return table.collection(name, None), overridden


def _fill(path: str, account_id: int | None) -> str:
    return path.replace("{aid}", str(account_id)) if account_id is not None else path


def probe_endpoint(
    transport: Transport, table: EndpointTable, name: str, account_id: int | None
) -> EndpointReport:
    """One GET of endpoint ``name`` (the first page of a list, as a read asks for it),
    compared with the contract. A reply that never came is a problem, not an exception."""
    endpoint = ENDPOINTS_BY_NAME[name]
    template, overridden = _template(table, name)
    base = _Base(name, template, endpoint.status, overridden, endpoint.list_key)
    params = {"page": 1, "per_page": PER_PAGE} if endpoint.list_key else None
    try:
        reply = transport.probe(_fill(template, account_id), params=params)
    except ProviderError as err:
        return base.report(problems=(f"no reply: {err.reason}",))
    return _judge(base, reply, table)


@dataclass(frozen=True)
class _Base:
    name: str
    path: str
    status: str
    overridden: bool
    list_key: str | None

    def report(self, **values: Any) -> EndpointReport:
        defaults: dict[str, Any] = {
            "http_status": None,
            "list_key_found": None,
            "items": None,
            "fields": (),
            "unknown_fields": (),
            "paging_fields": (),
            "next_page": None,
            "rate_limit_headers": (),
            "problems": (),
        }
        defaults.update(values)
        return EndpointReport(
            self.name, self.path, self.status, self.overridden, list_key=self.list_key, **defaults
        )


def _judge(base: _Base, reply: ProbeReply, table: EndpointTable) -> EndpointReport:
    common = {"http_status": reply.status, "rate_limit_headers": reply.header_names}
    if not 200 <= reply.status < 300:
        problem = f"answered HTTP {reply.status}"
        override_key = None
        if reply.status == 404:
            override_key = f"[provider.endpoints] {base.name}"
            problem += (
                f": the path is not served; if your CTM API serves it elsewhere, set "
                f'{override_key} = "/your/path"'
            )
        return base.report(problems=(problem,), override_key=override_key, **common)
    if not reply.json:
        return base.report(problems=("the reply is not JSON",), **common)
    if error_in_body(reply.payload) is not None:
        return base.report(problems=("the reply's body says error",), **common)
    if base.list_key is None:
        return _judge_object(base, reply.payload, common)
    return _judge_list(base, reply.payload, common)


def _judge_object(base: _Base, payload: Any, common: Mapping[str, Any]) -> EndpointReport:
    if base.name == "account_detail" and isinstance(payload, Mapping):
        inner = payload.get("account")
        payload = inner if isinstance(inner, Mapping) else payload
    if not isinstance(payload, Mapping):
        return base.report(problems=("the reply is not a JSON object",), **common)
    fields, unknown = _fields_over(base.name, [payload])
    return base.report(
        items=1, fields=fields, unknown_fields=unknown, problems=_field_problems(fields), **common
    )


def _judge_list(base: _Base, payload: Any, common: Mapping[str, Any]) -> EndpointReport:
    assert base.list_key is not None
    if not isinstance(payload, Mapping):
        return base.report(problems=("the reply is not a JSON object",), **common)
    paging = tuple(k for k in PAGING_KEYS if k in payload)
    next_page = _next_page_kind(payload) if "next_page" in payload else None
    items = payload.get(base.list_key)
    if not isinstance(items, list):
        keys = shown_names(k for k, v in payload.items() if isinstance(v, list))
        hint = f" (lists found under: {', '.join(keys)})" if keys else ""
        return base.report(
            list_key_found=False,
            paging_fields=paging,
            next_page=next_page,
            problems=(f"no {base.list_key!r} list in the reply{hint}",),
            **common,
        )
    objects = [item for item in items if isinstance(item, Mapping)]
    problems = []
    if len(objects) != len(items):
        problems.append(f"{len(items) - len(objects)} item(s) are not JSON objects")
    fields, unknown = _fields_over(base.name, objects)
    return base.report(
        list_key_found=True,
        items=len(items),
        fields=fields,
        unknown_fields=unknown,
        paging_fields=paging,
        next_page=next_page,
        problems=(*problems, *_field_problems(fields)),
        **common,
    )


def _next_page_kind(payload: Mapping[str, Any]) -> str:
    value = payload["next_page"]
    if value is None:
        return "null"
    if _is_int(value) or (isinstance(value, str) and value.isdigit()):
        return "page number"
    return "url" if isinstance(value, str) and "://" in value else json_type(value)


def _fields_over(
    name: str, objects: Sequence[Mapping[str, Any]]
) -> tuple[tuple[FieldReport, ...], tuple[str, ...]]:
    expected = expected_fields(name)
    reports = tuple(_field_report(e, objects) for e in expected)
    known = {e.key for e in expected} | ({"plan"} if name == "accounts" else set())
    unknown = shown_names({k for obj in objects for k in obj} - known)
    return reports, unknown


def _field_report(expected: Expected, objects: Sequence[Mapping[str, Any]]) -> FieldReport:
    present = other = missing = 0
    seen: Counter[str] = Counter()
    for obj in objects:
        if expected.key not in obj:
            missing += 1
        elif expected.accepts(obj[expected.key]):
            present += 1
        else:
            other += 1
            seen[json_type(obj[expected.key])] += 1
    verdict: Verdict
    if not objects:
        verdict = "unchecked: no items"
    elif other:
        verdict = "other type"
    elif missing:
        verdict = "missing"
    else:
        verdict = "present"
    return FieldReport(
        expected.key,
        expected.source,
        expected.type_label,
        verdict,
        present,
        other,
        missing,
        tuple(sorted(seen)),
    )


def _field_problems(fields: Iterable[FieldReport]) -> tuple[str, ...]:
    problems = []
    for f in fields:
        if f.verdict == "other type":
            problems.append(
                f"{f.name}: {f.other_type} item(s) hold {', '.join(f.types_seen)}, not {f.expected}"
            )
        elif f.verdict == "missing":
            problems.append(f"{f.name}: missing in {f.missing} item(s)")
    return tuple(problems)


def probe_error_shape(transport: Transport, table: EndpointTable) -> ErrorShape:
    """Ask the account list for one more item per page than CTM allows: CTM answers 400
    with ``{"error": "per_page limit is 150"}`` (ctm-api-evidence.md). Read only."""
    path = table.collection("accounts", None)
    try:
        reply = transport.probe(path, params={"page": 1, "per_page": OVER_PAGE_LIMIT})
    except ProviderError:
        return ErrorShape(False, None, False, ())
    failed = not 200 <= reply.status < 300
    recognized = failed and any(k in ERROR_KEYS for k in reply.body_keys)
    return ErrorShape(True, reply.status, recognized, shown_names(reply.body_keys))


# -- the JSON document -------------------------------------------------------------------


def doctor_document(report: DoctorReport, hipaactl_version: str) -> dict[str, Any]:
    """The versioned ``doctor --json`` document: names, types and counts, no values."""
    return {
        "format_version": DOCTOR_FORMAT_VERSION,
        "hipaactl_version": hipaactl_version,
        "provider": report.provider,
        "ok": report.ok,
        "accounts": {
            "listed": report.accounts_listed,
            "managed": report.accounts_managed,
            "probed": report.account_chosen_by,
        },
        "endpoints": [_endpoint_document(e) for e in report.endpoints],
        "error_shape": {
            "attempted": report.error_shape.attempted,
            "http_status": report.error_shape.http_status,
            "recognized": report.error_shape.recognized,
            "body_keys": list(report.error_shape.body_keys),
        },
        "notes": list(report.notes),
    }


def _endpoint_document(e: EndpointReport) -> dict[str, Any]:
    return {
        "name": e.name,
        "path": e.path,
        "status": e.status,
        "overridden": e.overridden,
        "http_status": e.http_status,
        "ok": e.ok,
        "list_key": e.list_key,
        "list_key_found": e.list_key_found,
        "items": e.items,
        "fields": [
            {
                "name": f.name,
                "source": f.source,
                "expected": f.expected,
                "result": f.verdict,
                "present": f.present,
                "other_type": f.other_type,
                "missing": f.missing,
                "types_seen": list(f.types_seen),
            }
            for f in e.fields
        ],
        "unknown_fields": list(e.unknown_fields),
        "paging_fields": list(e.paging_fields),
        "next_page": e.next_page,
        "rate_limit_headers": list(e.rate_limit_headers),
        "problems": list(e.problems),
        "override_key": e.override_key,
    }
