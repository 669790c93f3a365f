"""The shape of a policy pack file, validated once at load (pydantic stays in ``config``).

These models check structure and closed sets only; ``policy.packs`` checks what needs
the rule language itself (field names per resource type, operator vs value type) and
turns the models into the frozen values of ``policy.model``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from hipaactl.model.changes import ResourceType
from hipaactl.policy.model import REF_NAMES, RefName

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains_none", "matches"]

DEFAULT_ATTESTATION_MAX_AGE_DAYS = 365


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RefModel(_Strict):
    """``value = { ref = "phi_fields" }``: data resolved when the rule is evaluated."""

    ref: RefName


class ConditionModel(_Strict):
    field: StrictStr = Field(min_length=1)
    op: Op
    # A literal (str, int, float, bool, or a list of them) or a ``{ ref = ... }`` table;
    # ``policy.packs`` checks that the kind of value suits ``op``.
    value: Any
    any: ResourceType | None = None
    all: ResourceType | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _literal_or_ref(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return _ref(value)
        if isinstance(value, list):
            if not all(_is_scalar(item) for item in value):
                raise ValueError("a list value may hold only strings, numbers and booleans")
            return value
        if not _is_scalar(value):
            raise ValueError("expected a string, number, boolean, list or { ref = ... }")
        return value


class RuleModel(_Strict):
    id: StrictStr = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    title: StrictStr = Field(min_length=1)
    hipaa: list[StrictStr] = Field(min_length=1)
    hipaa_type: Literal["required", "addressable"]
    source: StrictStr = Field(min_length=1)
    severity: Literal["low", "medium", "high", "critical"]
    enforcement: Literal["mandatory", "advisory"]
    resource: ResourceType
    when: list[ConditionModel] = Field(default_factory=list)
    check: ConditionModel
    remediation: StrictStr = Field(min_length=1)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _ref(table: dict[str, Any]) -> RefModel:
    """Nothing in a pack is code: the only table a value may be is ``{ ref = NAME }``."""
    names = ", ".join(REF_NAMES)
    if set(table) != {"ref"} or table["ref"] not in REF_NAMES:
        raise ValueError(f"a table value must be {{ ref = NAME }} with NAME one of: {names}")
    return RefModel(ref=table["ref"])


class PackHeader(_Strict):
    id: StrictStr = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    version: StrictStr = Field(min_length=1)
    title: StrictStr = Field(min_length=1)
    eligible_plans: list[StrictStr] = Field(default_factory=list)
    phi_fields: list[StrictStr] = Field(default_factory=list)
    login_protected_fields: list[StrictStr] = Field(default_factory=list)
    shared_mailbox_local_parts: list[StrictStr] = Field(default_factory=list)
    attestation_max_age_days: StrictInt = Field(default=DEFAULT_ATTESTATION_MAX_AGE_DAYS, ge=1)


class PackFile(_Strict):
    pack: PackHeader
    rule: list[RuleModel] = Field(min_length=1)


def parse_pack(document: dict[str, Any]) -> PackFile:
    """Validate a parsed TOML document; raises ``pydantic.ValidationError``."""
    return PackFile.model_validate(document)
