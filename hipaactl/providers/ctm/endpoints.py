"""The CTM endpoint table: every path this project calls, in one place.

``documented`` paths appear in CTM's public API docs. ``inferred`` ones expose settings
CTM shows in its UI but documents no endpoint for: the path is this project's contract
(and the simulator's), and a user can point it elsewhere with ``[provider.endpoints]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Status = Literal["documented", "inferred"]
# Where a field this project reads was seen: ``documented`` in CTM's API docs, ``sdk`` in
# CTM's official SDKs or in schemas generated from live replies (ctm-api-evidence.md,
# "Confirmed"), ``inferred`` nowhere public (CTM's UI shows the setting).
FieldSource = Literal["documented", "sdk", "inferred"]
FIELD_SOURCES: tuple[FieldSource, ...] = ("documented", "sdk", "inferred")


def _fields(source: FieldSource, *names: str) -> tuple[tuple[str, FieldSource], ...]:
    return tuple((name, source) for name in names)


@dataclass(frozen=True)
class Endpoint:
    name: str
    collection: str  # GET (list or object); POST creates on it for users
    item: str | None  # PUT/DELETE target, with ``{id}``
    list_key: str | None  # key holding the list in a paged reply; None for one object
    status: Status
    fields_status: Status  # whether the fields this project reads are documented
    description: str
    # Every reply field the mapping reads, with where it was seen (the README table and
    # ``hipaactl doctor`` both list them; a test keeps them equal to the mapping's).
    fields: tuple[tuple[str, FieldSource], ...] = ()


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "accounts",
        "/accounts",
        None,
        "accounts",
        "documented",
        "documented",
        "id, name, status (no plan)",
        _fields("sdk", "id", "name", "status"),
    ),
    Endpoint(
        "account_detail",
        "/accounts/{aid}",
        None,
        None,
        "inferred",
        "inferred",
        "plan, read only when a loaded pack checks it",
        _fields("inferred", "plan"),
    ),
    Endpoint(
        "call_settings",
        "/accounts/{aid}/call_settings",
        "/accounts/{aid}/call_settings/{id}",
        "configs",
        "documented",
        "documented",
        "recording, transcription and caller ID flags of each profile",
        (
            *_fields("sdk", "id", "name", "inbound_recordings_on", "outbound_recording_on"),
            *_fields("sdk", "transcription"),
            *_fields("inferred", "callerid_enabled"),
            *_fields("sdk", "premium_callerid_enabled"),
        ),
    ),
    Endpoint(
        "users",
        "/accounts/{aid}/users",
        "/accounts/{aid}/users/{id}",
        "users",
        "documented",
        "documented",
        "id, email, first_name, last_name, role (any string), status; flat write bodies",
        _fields("sdk", "id", "email", "first_name", "last_name", "role", "status"),
    ),
    Endpoint(
        "numbers",
        "/accounts/{aid}/numbers",
        None,
        "numbers",
        "documented",
        "inferred",
        "hipaa_eligible of each tracking number",
        (*_fields("sdk", "id", "number", "name"), *_fields("inferred", "hipaa_eligible")),
    ),
    Endpoint(
        "triggers",
        "/accounts/{aid}/triggers",
        None,
        "automators",
        "documented",
        "inferred",
        "read only: the actions of each routing rule and the text they send",
        _fields("sdk", "id", "name", "routing_rules"),
    ),
    Endpoint(
        "webhooks",
        "/accounts/{aid}/webhooks",
        None,
        "webhooks",
        "documented",
        "documented",
        "read only: receiver host, https or not, with_resource_url, position",
        _fields("sdk", "id", "name", "weburl", "with_resource_url", "position"),
    ),
    Endpoint(
        "agency_security",
        "/agency/security",
        "/agency/security",
        None,
        "inferred",
        "inferred",
        "idle timeout, two-factor, login to hear recordings, account override, email MFA, "
        "recording link expiry",
        _fields(
            "inferred",
            "idle_timeout_minutes",
            "two_factor",
            "require_login_for_recordings",
            "allow_account_override",
            "allow_email_mfa",
            "recording_link_expiry_days",
        ),
    ),
    Endpoint(
        "account_settings",
        "/accounts/{aid}/settings",
        "/accounts/{aid}/settings",
        None,
        "inferred",
        "inferred",
        "recording encryption, transcription mode, redaction",
        _fields(
            "inferred",
            "encrypted_recordings",
            "encrypted_recording_storage",
            "transcription_mode",
            "redaction_schedule",
        ),
    ),
    Endpoint(
        "notifications",
        "/accounts/{aid}/notifications",
        "/accounts/{aid}/notifications/{id}",
        "notifications",
        "inferred",
        "inferred",
        "fields each notification sends",
        _fields("inferred", "id", "name", "kind", "fields"),
    ),
    Endpoint(
        "integrations",
        "/accounts/{aid}/integrations",
        None,
        "integrations",
        "inferred",
        "inferred",
        "name and enabled flag of each integration",
        _fields("inferred", "id", "name", "enabled"),
    ),
)
ENDPOINTS_BY_NAME: Mapping[str, Endpoint] = {e.name: e for e in ENDPOINTS}
# The inferred endpoints a change may write to, by resource type: writes to them need
# ``[provider] allow_inferred_writes = true`` (SPEC section 4).
INFERRED_WRITES: Mapping[str, str] = {
    "agency.security": "agency_security",
    "settings": "account_settings",
    "notification": "notifications",
}


@dataclass(frozen=True)
class EndpointTable:
    """The table with a config's ``[provider.endpoints]`` overrides applied.

    An override replaces the collection path; for endpoints with items, the item path
    becomes the override followed by ``/{id}`` (``agency_security`` and
    ``account_settings`` use the same path for both).
    """

    overrides: Mapping[str, str]

    def endpoint(self, name: str) -> Endpoint:
        """The built-in description of endpoint ``name``; KeyError for an unknown name."""
        return ENDPOINTS_BY_NAME[name]

    def collection(self, name: str, account_id: int | None = None) -> str:
        """The collection path of ``name`` (override first), ``{aid}`` filled when given."""
        path = self.overrides.get(name, ENDPOINTS_BY_NAME[name].collection)
        return path.replace("{aid}", str(account_id)) if account_id is not None else path

    def item(self, name: str, account_id: int | None, object_id: str | None) -> str:
        """The path of one object of ``name``, ``{aid}`` and ``{id}`` filled; endpoints
        without items use the collection path.
        """
        endpoint = ENDPOINTS_BY_NAME[name]
        if name in self.overrides:
            base = self.overrides[name]
            path = base if endpoint.item == endpoint.collection else base + "/{id}"
        else:
            path = endpoint.item or endpoint.collection
        if account_id is not None:
            path = path.replace("{aid}", str(account_id))
        return path.replace("{id}", object_id or "")

    def describe_inferred_404(self, name: str) -> str | None:
        """The hint for a 404 on an inferred path, naming the override key."""
        if ENDPOINTS_BY_NAME[name].status != "inferred":
            return None
        return (
            f"the {name} endpoint is inferred (CTM documents no path for it); if your CTM "
            f'API serves it elsewhere, set [provider.endpoints] {name} = "/your/path"'
        )


def _methods(endpoint: Endpoint) -> str:
    reads = f"GET `{endpoint.collection}`"
    if endpoint.item is None:
        return reads
    if endpoint.item == endpoint.collection:
        return f"GET/PUT `{endpoint.collection}`"
    writes = "PUT/DELETE" if endpoint.name == "users" else "PUT"
    creates = "GET/POST" if endpoint.name == "users" else "GET"
    return f"{creates} `{endpoint.collection}` · {writes} `{endpoint.item}`"


def _field_sources(endpoint: Endpoint) -> str:
    groups = []
    for source in FIELD_SOURCES:
        names = [name for name, seen in endpoint.fields if seen == source]
        if names:
            groups.append(f"{source}: " + ", ".join(f"`{n}`" for n in names))
    return " · ".join(groups)


def endpoint_table_markdown() -> str:
    """The endpoint table as the README shows it (a test keeps the two in sync): per
    path whether CTM documents it, and per field where it was seen (``FIELD_SOURCES``)."""
    lines = [
        "| name (`[provider.endpoints]` key) | requests | path | what is read "
        "| fields (where seen) |",
        "|---|---|---|---|---|",
    ]
    for e in ENDPOINTS:
        lines.append(
            f"| `{e.name}` | {_methods(e)} | {e.status} | {e.description} | {_field_sources(e)} |"
        )
    return "\n".join(lines) + "\n"
