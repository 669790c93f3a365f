"""The shape of ``hipaa.toml`` as pydantic models (SPEC section 2), and its JSON Schema.

These models hold structure, types, ranges and closed sets. Rules that span several keys,
or need the file system or today's date, live in ``config.load``. ``validate_document``
turns pydantic's errors into located, plain-worded problems: no pydantic wording, URL or
string input ever reaches a user.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from annotated_types import Ge, Gt, Le
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from hipaactl.config.keys import KeyPath
from hipaactl.config.model import (
    DEFAULT_AUDIT_PATH,
    DEFAULT_PARALLELISM,
    DEFAULT_RATE_LIMIT,
    PhiFieldsMode,
    Transcription,
    UsersMode,
)
from hipaactl.model.state import RedactionSchedule, Role, TwoFactor
from hipaactl.providers.ctm.endpoints import ENDPOINTS_BY_NAME

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TITLE = "hipaactl configuration (hipaa.toml)"
CONFIG_VERSION = 1

# Simple on purpose: one @, no spaces, a dotted domain of non-empty labels, in any script
# (internationalised domains such as klinik-münchen.de are real). Deliverability is not
# our business.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
NON_BLANK_PATTERN = r"\S"
ENDPOINT_PATH_PATTERN = r"^/"
PROVIDER_KIND_PATTERN = r"^[a-z][a-z0-9_]*$"
URL_PATTERN = r"^https?://\S+$"

PATTERN_MESSAGES: Mapping[str, str] = {
    EMAIL_PATTERN: "is not a valid email address (expected name@domain.example)",
    NON_BLANK_PATTERN: "must not be empty",
    ENDPOINT_PATH_PATTERN: "must be a path starting with '/'",
    PROVIDER_KIND_PATTERN: (
        'must be "sandbox", "ctm" or the name of an installed provider '
        "(lowercase letters, digits and underscores, starting with a letter)"
    ),
    URL_PATTERN: "must be an http:// or https:// URL",
}

Email = Annotated[str, Field(pattern=EMAIL_PATTERN)]
NonBlank = Annotated[str, Field(pattern=NON_BLANK_PATTERN)]
# A bare host name: no scheme, port, path or credentials.
HostName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$"
    ),
]


class _Model(BaseModel):
    # strict: "15" and true are not integers; forbid: a typo is an error, not a no-op.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RecordingsModel(_Model):
    """Call recording in every call-settings profile, and its encryption."""

    enabled: bool | None = None
    encrypted: bool | None = None
    encrypted_storage: bool | None = None


class CallerIdModel(_Model):
    """Caller ID lookups (they send caller data to a third party)."""

    enabled: bool | None = None
    enhanced: bool | None = None


class NotificationsModel(_Model):
    """Whether PHI fields are stripped from notifications (triggers are read only)."""

    phi_fields: PhiFieldsMode | None = None
    extra_phi_fields: list[NonBlank] | None = None


class UsersModel(_Model):
    """additive: create and update declared users; exact: also delete undeclared ones."""

    mode: UsersMode


class AccountSettingsModel(_Model):
    """Per-account settings: [defaults], overridable in each [[account]]."""

    recordings: RecordingsModel | None = None
    transcription: Transcription | None = None
    redaction: RedactionSchedule | None = None
    caller_id: CallerIdModel | None = None
    notifications: NotificationsModel | None = None
    users: UsersModel | None = None


class UserModel(_Model):
    """One individual login (never a shared one). Names are managed only where declared,
    and are needed only when apply must create the user."""

    email: Email
    first_name: NonBlank | None = None
    last_name: NonBlank | None = None
    role: Role


class AccountModel(AccountSettingsModel):
    """An account that is always managed; any [defaults] key may be overridden."""

    id: int = Field(ge=1)
    user: list[UserModel] = Field(default_factory=list)


def _endpoint_field(description: str) -> Any:
    return (str | None, Field(default=None, pattern=ENDPOINT_PATH_PATTERN, description=description))


# One optional field per endpoint of the table, so a misspelt name gets "did you mean".
if TYPE_CHECKING:
    EndpointsModel = _Model
else:
    EndpointsModel = create_model(
        "EndpointsModel",
        __base__=_Model,
        __doc__="Override the path of an endpoint of the CTM API.",
        **{name: _endpoint_field(e.description) for name, e in sorted(ENDPOINTS_BY_NAME.items())},
    )


class ProviderModel(_Model):
    """Where live state comes from. CTM credentials are read only from the environment."""

    kind: str = Field(default="sandbox", pattern=PROVIDER_KIND_PATTERN)
    seed: NonBlank | None = None
    base_url: str | None = Field(default=None, pattern=URL_PATTERN)
    # At least one request per 100 s: below that a run could not finish, and the
    # limiter's waits would pass what time.sleep accepts.
    rate_limit: float = Field(default=DEFAULT_RATE_LIMIT, ge=0.01, allow_inf_nan=False)
    parallelism: int = Field(default=DEFAULT_PARALLELISM, ge=1, le=64)
    endpoints: EndpointsModel | None = None
    allow_inferred_writes: bool = Field(
        default=False,
        description="ctm only: write to the inferred endpoints (agency_security, "
        "account_settings, notifications); run `hipaactl doctor` first",
    )


class AgencySecurityModel(_Model):
    """Agency-wide user security settings."""

    idle_timeout_minutes: int | None = Field(default=None, ge=1, le=1440)
    two_factor: TwoFactor | None = None
    require_login_for_recordings: bool | None = None
    allow_account_override: bool | None = Field(
        default=None, description="whether accounts may weaken these settings"
    )
    allow_email_mfa: bool | None = Field(
        default=None, description="whether email is accepted as a second factor"
    )
    recording_link_expiry_days: int | None = Field(
        default=None, ge=1, le=30, description="days after which recording links stop working"
    )


class AgencyModel(_Model):
    security: AgencySecurityModel | None = None


class ExclusionModel(_Model):
    """An account left alone: by id, or by name (a glob); reason is required."""

    id: int | None = Field(default=None, ge=1)
    name: NonBlank | None = None
    reason: NonBlank

    @model_validator(mode="after")
    def _one_selector(self) -> ExclusionModel:
        if (self.id is None) == (self.name is None):
            raise ValueError(
                "an exclusion needs exactly one of id (an account id) "
                "or name (a glob over account names)"
            )
        return self


class AccountsModel(_Model):
    """Which accounts are managed besides the [[account]] entries."""

    include: list[int | NonBlank]
    exclude: list[ExclusionModel] = Field(default_factory=list)


class BaaModel(_Model):
    """The Business Associate Agreement with CTM: a fact no API exposes."""

    counterparty: NonBlank
    effective_on: dt.date
    confirmed_on: dt.date
    by: Email
    document: NonBlank | None = None


class IndividualLoginsModel(_Model):
    """Confirmation that every person has their own login."""

    confirmed_on: dt.date
    by: Email


class FactModel(_Model):
    """A person's dated word for a fact the API does not expose, keyed by the rule it
    answers: that rule's ``error`` becomes ``attested``, unless the data could not be read
    this run (a 5xx, a timeout): a failed read stays ``error``."""

    confirmed_on: dt.date
    by: Email
    note: NonBlank


class AttestationsModel(_Model):
    baa: BaaModel | None = None
    individual_logins: IndividualLoginsModel | None = None
    max_age_days: int | None = Field(default=None, ge=1)
    facts: dict[str, FactModel] = Field(default_factory=dict)


class IntegrationModel(_Model):
    name: NonBlank
    baa: bool
    host: HostName | None = Field(
        default=None,
        description="the host a webhook of this service posts to, such as hooks.ehr.example",
    )


class IntegrationsModel(_Model):
    """Third-party integrations allowed to receive call data."""

    allow: list[IntegrationModel] = Field(default_factory=list)


class OverrideModel(_Model):
    """A rule made advisory, with who approved it and until when."""

    enforcement: Literal["advisory"]
    reason: NonBlank
    approved_by: Email
    expires_on: dt.date


class PolicyModel(_Model):
    overrides: dict[str, OverrideModel] = Field(default_factory=dict)


class AuditModel(_Model):
    path: NonBlank = DEFAULT_AUDIT_PATH


class ConfigFileModel(_Model):
    """The desired HIPAA-relevant state of a CallTrackingMetrics agency and its accounts."""

    version: int = Field(json_schema_extra={"const": CONFIG_VERSION})
    policies: list[NonBlank] = Field(min_length=1)
    provider: ProviderModel = Field(default_factory=ProviderModel)
    agency: AgencyModel | None = None
    defaults: AccountSettingsModel | None = None
    accounts: AccountsModel | None = None
    account: list[AccountModel] = Field(default_factory=list)
    attestations: AttestationsModel | None = None
    integrations: IntegrationsModel | None = None
    policy: PolicyModel | None = None
    audit: AuditModel | None = None

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != CONFIG_VERSION:
            raise ValueError(f"unsupported version {value}; only version {CONFIG_VERSION} exists")
        return value


# -- JSON Schema -----------------------------------------------------------------------


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the config file, generated from the models."""
    generated = _without_null(ConfigFileModel.model_json_schema(mode="validation"))
    generated.pop("title", None)
    return {"$schema": JSON_SCHEMA_DIALECT, "title": SCHEMA_TITLE, **generated}


def _without_null(node: Any) -> Any:
    """TOML has no null: ``X | None = None`` means "may be left out", so drop the null
    branch and the null default pydantic writes for it."""
    if isinstance(node, list):
        return [_without_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {k: _without_null(v) for k, v in node.items() if not (k == "default" and v is None)}
    branches = result.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        del result["anyOf"]
        if len(rest) == 1:
            result = {**rest[0], **result}
        else:
            result["anyOf"] = rest
    return result


# -- validation with friendly errors ----------------------------------------------------


@dataclass(frozen=True)
class SchemaProblem:
    path: KeyPath
    message: str


def validate_document(
    document: dict[str, Any],
) -> tuple[ConfigFileModel | None, list[SchemaProblem]]:
    """The validated model, or every schema problem of the document."""
    try:
        return ConfigFileModel.model_validate(document), []
    except ValidationError as exc:
        return None, _problems(exc.errors(include_url=False), document)


# Type errors: what was expected, in TOML words.
_EXPECTED: Mapping[str, str] = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean (true or false)",
    "string_type": "a string",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "date_type": "a date (like 2026-01-15, without quotes)",
}

_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})

# Extra advice for common mistakes: (error kind, key path without positions) -> advice.
_HINTS: Mapping[tuple[str, tuple[str, ...]], str] = {
    ("type", ("account",)): "declare each account as its own [[account]] table (double brackets)",
    ("type", ("accounts",)): "[accounts] is one table with include and exclude; "
    "declare each account in an [[account]] table",
    ("missing", ("accounts", "include")): 'write include = ["*"] to manage every account not '
    "excluded, or list account ids and name globs",
    ("too_short", ("policies",)): 'list at least one pack, e.g. policies = ["ctm-hipaa-current"]',
}


def _problems(errors: Sequence[ErrorDetails], document: dict[str, Any]) -> list[SchemaProblem]:
    grouped: dict[KeyPath, list[ErrorDetails]] = {}
    for error in errors:
        path = _key_path(error["loc"], document, missing=error["type"] == "missing")
        grouped.setdefault(path, []).append(error)
    problems: list[SchemaProblem] = []
    for path, group in grouped.items():
        messages = _group_messages(path, group)
        problems.extend(SchemaProblem(path, m) for m in dict.fromkeys(messages))
    return problems


def _key_path(loc: tuple[str | int, ...], document: Any, *, missing: bool) -> KeyPath:
    """pydantic's ``loc`` as a key path of the file: follow it through the document and
    drop what names no key (union member tags such as ``int`` or ``str``). Only a
    missing key ends the path with a key the document does not have."""
    path: list[str | int] = []
    node = document
    for position, part in enumerate(loc):
        absent_ok = missing and position == len(loc) - 1
        if isinstance(node, dict) and isinstance(part, str) and (part in node or absent_ok):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
        path.append(part)
    return tuple(path)


def _group_messages(path: KeyPath, group: list[ErrorDetails]) -> list[str]:
    # A value of a union type fails once per member: say it once, listing every type.
    typed = [e for e in group if e["type"] in _EXPECTED]
    rest = [e for e in group if e["type"] not in _EXPECTED]
    messages = []
    if typed:
        expected = " or ".join(dict.fromkeys(_EXPECTED[e["type"]] for e in typed))
        messages.append(
            _with_hint("type", path, f"expected {expected}, got {describe(typed[0]['input'])}")
        )
    messages.extend(_message(path, e) for e in rest)
    return messages


def _with_hint(kind: str, path: KeyPath, message: str) -> str:
    hint = _HINTS.get((kind, tuple(p for p in path if isinstance(p, str))))
    return f"{message}; {hint}" if hint else message


def _message(path: KeyPath, error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error["input"]
    if kind == "missing":
        return _with_hint("missing", path, "missing required key")
    if kind == "extra_forbidden":
        return _unknown_key(path)
    if kind == "literal_error":
        if isinstance(value, str):
            return f"unknown value {value!r}; expected {ctx['expected']}"
        return f"expected {ctx['expected']}, got {describe(value)}"
    if kind in _RANGE_ERRORS:
        return _range_message(path, value)
    if kind == "too_short":
        return _with_hint("too_short", path, "must not be empty")
    if kind == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(str(ctx.get("pattern")), "has the wrong format")
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "value_error":
        return str(ctx["error"])
    return str(error["msg"]).lower()


def describe(value: Any) -> str:
    """The TOML type of a parsed value, for "expected X, got Y"."""
    # bool before int and datetime before date: each is a subclass of the other.
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        (dt.datetime, "a date-time"),
        (dt.date, "a date"),
        (dt.time, "a time"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), "a value")


def _model_at(path: KeyPath) -> type[BaseModel] | None:
    """The model whose fields hold the last key of ``path``."""
    model: type[BaseModel] | None = ConfigFileModel
    for part in path[:-1]:
        if model is None:
            return None
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is not None:  # else a position, or a key of a table like policy.overrides
            model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_inner_model, get_args(annotation)) if m is not None), None)


def _unknown_key(path: KeyPath) -> str:
    name = str(path[-1])
    model = _model_at(path)
    allowed = sorted(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"unknown key {name!r}; did you mean {close[0]!r}?"
    if allowed:
        return f"unknown key {name!r}; allowed keys: {', '.join(allowed)}"
    return f"unknown key {name!r}"


def _range_message(path: KeyPath, value: Any) -> str:
    model = _model_at(path)
    field = model.model_fields.get(str(path[-1])) if model is not None else None
    metadata = field.metadata if field is not None else []
    low = next((m.ge for m in metadata if isinstance(m, Ge)), None)
    high = next((m.le for m in metadata if isinstance(m, Le)), None)
    above = next((m.gt for m in metadata if isinstance(m, Gt)), None)
    if low is not None and high is not None:
        rule = f"must be between {low} and {high}"
    elif low is not None:
        rule = f"must be at least {low}"
    elif above is not None:
        rule = f"must be greater than {above}"
    else:
        rule = f"must be at most {high}"
    return f"{rule}, got {value}"
