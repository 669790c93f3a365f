"""Policy packs as values: rules are data, interpreted by ``policy.evaluate``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hipaactl.model.changes import RESOURCE_TYPES

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains_none", "matches"]
OPS: tuple[Op, ...] = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains_none", "matches")
RefName = Literal[
    "phi_fields",
    "eligible_plans",
    "allowed_integrations",
    "shared_mailbox_local_parts",
    "allowed_receivers",
]
REF_NAMES: tuple[RefName, ...] = (
    "phi_fields",
    "eligible_plans",
    "allowed_integrations",
    "shared_mailbox_local_parts",
    "allowed_receivers",
)
Quantifier = Literal["any", "all"]
Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["mandatory", "advisory"]
HipaaType = Literal["required", "addressable"]
Status = Literal["pass", "fail", "error", "manual", "attested", "not_applicable"]
# Why a result is ``error``: ``unexposed`` when the API does not show the fact (a field
# absent from the view, a 404 from an inferred endpoint), which a person may attest;
# ``unread`` when the read itself failed (a 5xx, a timeout), and ``unrecognized`` when
# CTM returned a value hipaactl does not recognise: no attestation covers either (SPEC
# section 7).
ErrorKind = Literal["unexposed", "unread", "unrecognized"]

# Resource types a rule can be about (also the ``resource_type`` of plan changes).
RULE_RESOURCES: tuple[str, ...] = RESOURCE_TYPES
# Facts the API cannot change: a failing rule on them is a manual action, never a change.
READ_ONLY_RESOURCES: frozenset[str] = frozenset(
    {
        "number",
        "plan",
        "integration",
        "trigger",
        "webhook",
        "account",
        "attestation.baa",
        "attestation.individual_logins",
    }
)


@dataclass(frozen=True)
class Ref:
    """A value resolved at evaluation time from pack data and config."""

    name: RefName


@dataclass(frozen=True)
class Condition:
    """``field op value`` on a resource; with ``quantifier`` it ranges over ``over``:
    the same account's resources of that type, or ``agency.security``."""

    field: str
    op: Op
    # ``dataclasses.field``: the ``field`` attribute above shadows the name in this class.
    value: Any = dataclasses.field(hash=False)  # a literal (str, int, bool, list) or a Ref
    quantifier: Quantifier | None = None
    over: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    pack_id: str
    title: str
    hipaa: tuple[str, ...]
    hipaa_type: HipaaType
    source: str
    severity: Severity
    enforcement: Enforcement
    resource: str
    when: tuple[Condition, ...]
    check: Condition
    remediation: str


@dataclass(frozen=True)
class Pack:
    id: str
    version: str
    title: str
    sha256: str  # of the pack file's bytes
    eligible_plans: tuple[str, ...]
    phi_fields: tuple[str, ...]
    # PHI unless login is required to hear recordings (``recording_url``).
    login_protected_fields: tuple[str, ...]
    shared_mailbox_local_parts: tuple[str, ...]
    attestation_max_age_days: int
    rules: tuple[Rule, ...]
    source_path: str  # "builtin:ctm-hipaa-current" or the file path as given


@dataclass(frozen=True)
class ResourceView:
    """What rules see of one resource: flat values keyed by field name.

    A field absent from ``values`` is unknown (not declared for the gate, not readable
    for ``check``); a rule that needs it is skipped by the gate and ``error`` in check.
    ``unrecognized`` names the absent fields CTM did return, with a value hipaactl does
    not recognise (``Unrecognized`` in live state).
    """

    resource_type: str
    address: str
    account_id: int | None
    values: Mapping[str, Any] = field(hash=False)
    unrecognized: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    address: str
    status: Status
    message: str
    waived: bool = False
    # Set on every ``error`` result, None otherwise.
    error_kind: ErrorKind | None = None

    @property
    def effective_enforcement(self) -> Enforcement:
        """``advisory`` when the result is waived, else the rule's own enforcement (SPEC
        section 7).
        """
        return "advisory" if self.waived else self.rule.enforcement


# 45 CFR 164.308-164.316 is the Security Rule's administrative, physical, technical,
# organizational and documentation safeguards: only its implementation specifications
# are "required" or "addressable" (164.306(d)); Privacy Rule sections are neither.
_SECURITY_RULE = re.compile(r"^(?:45 CFR )?164\.(30[89]|31[0-6])\b")


def is_security_rule(citation: str) -> bool:
    """Whether a citation such as ``45 CFR 164.312(d)`` is in 164.308-164.316."""
    return _SECURITY_RULE.match(citation.strip()) is not None


def cited(rule: Rule) -> str:
    """The rule's citations, each Security Rule one followed by ``(required)`` or
    ``(addressable)`` and Privacy Rule ones bare: the one rendering every format uses."""
    return ", ".join(f"{c} ({rule.hipaa_type})" if is_security_rule(c) else c for c in rule.hipaa)
