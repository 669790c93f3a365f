"""The compliance report of ``check``: rule results over live state, the account scope,
the users access inventory and a summary; and its versioned JSON format.

Pure: config, packs and live state in, a ``Report`` out. Every renderer (text, JSON,
Markdown, SARIF, JUnit) reads the same value, so their counts always agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from hipaactl import __version__
from hipaactl.config.keys import line_of
from hipaactl.config.model import AccountSpec, Config, Override
from hipaactl.live.scope import Scope
from hipaactl.model.addresses import AGENCY_ADDRESS, quoted
from hipaactl.model.state import LiveState
from hipaactl.plan.desired import CALL_SETTINGS_KEYS, SETTINGS_KEYS
from hipaactl.plan.planfile import pack_document, result_document
from hipaactl.policy.gate import evaluate_live
from hipaactl.policy.model import Pack, Rule, RuleResult

REPORT_FORMAT_VERSION = "1"
ALL_PASSED = "all mandatory checks passed"
DISCLAIMER = (
    "Covers the CTM configuration items of CTM's HIPAA checklist only; not a HIPAA "
    "compliance determination or risk analysis (164.308(a)(1))."
)

Bucket = Literal["pass", "attested", "fail", "error", "manual", "not_applicable", "waived"]
BUCKETS: tuple[Bucket, ...] = get_args(Bucket)
EXIT_OK, EXIT_ERROR, EXIT_FAILED = 0, 1, 3

# The config key (under [[account]] or [defaults]) that declares each field a rule checks.
_ACCOUNT_FIELD_KEYS: Mapping[str, Mapping[str, str]] = {
    "settings": SETTINGS_KEYS,
    "call_settings": {**CALL_SETTINGS_KEYS, "records": "recordings.enabled"},
    "notification": {"fields": "notifications.phi_fields"},
    "trigger": {"fields": "notifications.phi_fields"},
}
# Keys outside accounts that declare what a rule over these resource types is about.
_GLOBAL_KEYS: Mapping[str, str] = {
    "attestation.baa": "attestations.baa.confirmed_on",
    "attestation.individual_logins": "attestations.individual_logins.confirmed_on",
    "integration": "integrations.allow",
    "account": "accounts.include",
}
_ACCOUNT_ID = re.compile(r"account\[(\d+)\]")


@dataclass(frozen=True)
class Location:
    """Where in the config file a result points: the declaring key, else line 1."""

    key: str | None
    line: int


@dataclass(frozen=True)
class InventoryUser:
    account: int
    email: str
    role: str
    status: str


@dataclass(frozen=True)
class Report:
    packs: tuple[Pack, ...]
    config_uri: str  # the config file, relative to the working directory when inside it
    config_sha256: str
    evaluated_at: dt.datetime
    scope: Scope
    results: tuple[RuleResult, ...]  # sorted by (rule id, address)
    users: tuple[InventoryUser, ...]  # sorted by (account, email)
    locations: Mapping[tuple[str, str], Location] = field(hash=False)
    overrides: tuple[Override, ...] = ()
    warnings: tuple[str, ...] = ()
    # The config file relative to the repository root (git top level) when it is in a
    # checkout, for SARIF's %SRCROOT%; None: the same as ``config_uri``.
    source_uri: str | None = None

    def summary(self) -> dict[str, int]:
        """Result counts per bucket (pass, fail, error, manual, waived); a waived result counts
        only under ``waived`` (SPEC section 7).
        """
        counts: dict[str, int] = dict.fromkeys(BUCKETS, 0)
        for result in self.results:
            counts[bucket(result)] += 1
        return counts

    def shown_summary(self) -> dict[str, int]:
        """The summary as text formats show it: ``attested`` only when some result is."""
        counts = self.summary()
        if not counts["attested"]:
            del counts["attested"]
        return counts

    @property
    def errors(self) -> tuple[RuleResult, ...]:
        """Results that could not be evaluated (status ``error``)."""
        return tuple(r for r in self.results if r.status == "error")

    @property
    def mandatory_failures(self) -> tuple[RuleResult, ...]:
        """Mandatory rules that failed or wait for an attestation, waived ones aside."""
        return tuple(r for r in self.results if is_mandatory_failure(r))

    @property
    def exit_code(self) -> int:
        """1 when anything could not be evaluated (errors win), 3 when a mandatory rule
        failed or is manual, else 0."""
        if self.errors:
            return EXIT_ERROR
        return EXIT_FAILED if self.mandatory_failures else EXIT_OK

    @property
    def conclusion(self) -> str:
        """One line for every format; never says "compliant"."""
        parts = []
        if self.errors:
            parts.append(f"{_count(len(self.errors), 'check')} could not be evaluated (error)")
        failed = len(self.mandatory_failures)
        if failed:
            parts.append(f"{_count(failed, 'mandatory check')} failed or need an attestation")
        return "; ".join(parts) if parts else ALL_PASSED

    def location_of(self, result: RuleResult) -> Location:
        """Where in the config the result's key is declared; line 1 when it is not."""
        return self.locations.get((result.rule.id, result.address), Location(None, 1))

    def override_for(self, rule_id: str) -> Override | None:
        """The config's ``[[override]]`` for ``rule_id``, or None."""
        return next((o for o in self.overrides if o.rule_id == rule_id), None)

    def waiver(self, rule_id: str) -> str:
        """Why a rule's results are waived: the override's reason, approver and expiry."""
        override = self.override_for(rule_id)
        if override is None:
            return "waived by [policy.overrides]"
        return (
            f"waived by [policy.overrides]: {override.reason} (approved by "
            f"{override.approved_by}, expires {override.expires_on.isoformat()})"
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def bucket(result: RuleResult) -> Bucket:
    """Where a result counts in the summary: a waived result only under ``waived``."""
    return "waived" if result.waived else result.status


def is_mandatory_failure(result: RuleResult) -> bool:
    """Whether the result fails ``check`` (exit 3): a mandatory rule, not waived, that
    failed or needs a manual attestation (SPEC section 1).
    """
    return (
        result.status in ("fail", "manual")
        and not result.waived
        and result.rule.enforcement == "mandatory"
    )


def build_report(
    config: Config,
    packs: Sequence[Pack],
    live: LiveState,
    scope: Scope,
    *,
    evaluated_at: dt.datetime,
    config_uri: str,
    config_sha256: str,
) -> Report:
    """Evaluate every pack, after overrides, against the live state of the accounts in
    ``scope`` into the check report (SPEC section 7); ``evaluated_at`` dates waivers."""
    results, warnings = evaluate_live(config, packs, live, scope, today=evaluated_at.date())
    return Report(
        packs=tuple(packs),
        config_uri=config_uri,
        config_sha256=config_sha256,
        evaluated_at=evaluated_at,
        scope=scope,
        results=results,
        users=users_inventory(live),
        locations={(r.rule.id, r.address): locate(config, r) for r in results},
        overrides=config.overrides,
        warnings=warnings,
    )


def users_inventory(live: LiveState) -> tuple[InventoryUser, ...]:
    """Every user of every account read: the access inventory auditors ask for
    (164.308(a)(3)(ii)(B), 164.308(a)(4))."""
    users = [
        InventoryUser(state.id, user.key, user.role, user.status)
        for state in live.accounts
        for user in state.users or ()
    ]
    return tuple(sorted(users, key=lambda u: (u.account, u.email)))


# -- grouping for the human-readable formats --------------------------------------------

SectionName = Literal["error", "mandatory", "manual", "advisory", "waived", "attested"]
SECTION_TITLES: Mapping[SectionName, str] = {
    "error": "Could not be evaluated (error: the data could not be read; never a pass)",
    "mandatory": "Failed mandatory rules",
    "manual": "Waiting for an attestation (manual: only a person can confirm these)",
    "advisory": "Failed advisory rules (warnings)",
    "waived": "Waived by [policy.overrides] (reported, not enforced)",
    "attested": "Attested by a person (facts the API does not expose; counted with pass)",
}


@dataclass(frozen=True)
class RuleGroup:
    """The results of one rule in one section, in address order."""

    rule: Rule
    results: tuple[RuleResult, ...]


def section_of(result: RuleResult) -> SectionName | None:
    """The section a result is listed in; None for a pass or a not applicable one."""
    if result.status in ("pass", "not_applicable"):
        return None
    if result.status == "error":
        return "error"
    if result.status == "attested":
        return "attested"
    if result.waived:
        return "waived"
    if result.status == "manual":
        return "manual"
    return "mandatory" if result.rule.enforcement == "mandatory" else "advisory"


def group_by_rule(results: Sequence[RuleResult]) -> tuple[RuleGroup, ...]:
    """The results grouped by rule id, in the order each rule first appears."""
    groups: dict[str, list[RuleResult]] = {}
    for result in results:
        groups.setdefault(result.rule.id, []).append(result)
    return tuple(RuleGroup(items[0].rule, tuple(items)) for items in groups.values())


def report_sections(report: Report) -> tuple[tuple[SectionName, tuple[RuleGroup, ...]], ...]:
    """The non-empty sections of results that did not pass, in ``SECTION_TITLES`` order."""
    sections = []
    for name in SECTION_TITLES:
        members = [r for r in report.results if section_of(r) == name]
        if members:
            sections.append((name, group_by_rule(members)))
    return tuple(sections)


def passing_groups(report: Report) -> tuple[RuleGroup, ...]:
    """The passing results grouped by rule."""
    return group_by_rule([r for r in report.results if r.status == "pass"])


def attestation_results(report: Report) -> tuple[RuleResult, ...]:
    """The results over attested facts (BAA, individual logins), whatever their status:
    every format shows their evidence, a pass included (SPEC section 7)."""
    return tuple(r for r in report.results if r.rule.resource.startswith("attestation."))


def not_applicable_groups(report: Report) -> tuple[RuleGroup, ...]:
    """Rules whose ``when`` did not hold: listed apart, never as passed."""
    return group_by_rule([r for r in report.results if r.status == "not_applicable"])


# -- where a result points in the config file ------------------------------------------


def locate(config: Config, result: RuleResult) -> Location:
    """The config key that declares what the result checks and its line; line 1 when the
    key is not declared.
    """
    key = declaring_key(config, result)
    line = line_of(key, config.key_lines) if key is not None else None
    return Location(key, line or 1)


def declaring_key(config: Config, result: RuleResult) -> str | None:
    """The key path that declares the value ``result`` is about, when the file has one:
    the ``[[account]]`` key, else the ``[defaults]`` one, else a section-wide key."""
    resource, check_field = result.rule.resource, result.rule.check.field
    if resource == AGENCY_ADDRESS:
        return _declared(config, f"{AGENCY_ADDRESS}.{check_field}")
    if resource in _GLOBAL_KEYS:
        return _declared(config, _GLOBAL_KEYS[resource])
    spec = _account_spec(config, result.address)
    prefix = f"account[#{spec.index}]" if spec is not None else None
    if resource == "user":
        return _declared_user_key(config, spec, result.address)
    key = _ACCOUNT_FIELD_KEYS.get(resource, {}).get(check_field)
    if key is None:
        return None
    candidates = [f"{prefix}.{key}"] if prefix else []
    return next((c for c in [*candidates, f"defaults.{key}"] if c in config.key_lines), None)


def _declared(config: Config, key: str) -> str | None:
    return key if key in config.key_lines else None


def _account_spec(config: Config, address: str) -> AccountSpec | None:
    """The ``[[account]]`` entry of the account an address is in, if it has one."""
    found = _ACCOUNT_ID.match(address)
    return config.spec_for(int(found.group(1))) if found else None


def _declared_user_key(config: Config, spec: AccountSpec | None, address: str) -> str | None:
    if spec is None:
        return None
    for position, user in enumerate(spec.desired.users):
        if address.endswith(f".user[{quoted(user.key)}]"):
            return _declared(config, f"account[#{spec.index}].user[#{position}].email")
    return None


# -- the JSON report (format_version 1) -----------------------------------------------


def scope_document(scope: Scope) -> dict[str, Any]:
    """``{"managed": [id], "excluded": [{"id", "reason"}], "unclassified": [id]}``
    (SPEC section 7).
    """
    return {
        "managed": [info.id for info in scope.managed],
        "excluded": [{"id": e.info.id, "reason": e.reason} for e in scope.excluded],
        "unclassified": [info.id for info in scope.unclassified],
    }


def report_document(report: Report) -> dict[str, Any]:
    """The documented report JSON. Only ``run.evaluated_at`` varies between runs over
    the same live state."""
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "packs": [pack_document(p) for p in report.packs],
        "config_sha256": report.config_sha256,
        "run": {
            "evaluated_at": report.evaluated_at.isoformat(timespec="seconds"),
            "hipaactl_version": __version__,
        },
        "scope": scope_document(report.scope),
        "summary": report.summary(),
        "results": [result_document(r) for r in report.results],
        "users": [
            {"account": u.account, "email": u.email, "role": u.role, "status": u.status}
            for u in report.users
        ],
        "conclusion": report.conclusion,
        "disclaimer": DISCLAIMER,
    }
