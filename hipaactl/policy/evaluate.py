"""Interpret pack rules over resource views: the rule language, and nothing evaluated as code.

For each rule and each view of the rule's resource type: a ``when`` condition that is
false makes the result ``not_applicable`` (never a pass: SPEC section 7); data a rule
needs that is missing is ``error`` (live state) or skips the rule (the gate, which sees
only declared keys); otherwise the check decides ``pass`` or ``fail``. A failing check
on a fact no API exposes (an attestation) is ``manual``.
"""

from __future__ import annotations

import json
import operator
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from hipaactl.config.model import Config
from hipaactl.model.addresses import AGENCY_ADDRESS, account_address
from hipaactl.model.unread import ACCOUNT_LIST_ADDRESS
from hipaactl.policy.model import (
    Condition,
    ErrorKind,
    Pack,
    Ref,
    RefName,
    ResourceView,
    Rule,
    RuleResult,
)
from hipaactl.policy.phi import phi_fields_for
from hipaactl.policy.regex import full_match
from hipaactl.policy.views import EVIDENCE_KEY, PROBLEM_KEY, normalize_plan

Mode = Literal["live", "gate"]

# Facts only a person can vouch for: a failing check asks for an attestation.
MANUAL_RESOURCES = frozenset({"attestation.baa", "attestation.individual_logins"})

REF_LABELS: Mapping[RefName, str] = {
    "phi_fields": "PHI",
    "eligible_plans": "the eligible plans",
    "allowed_integrations": "the [integrations] allow list (baa = true)",
    "shared_mailbox_local_parts": "the shared-mailbox names",
    "allowed_receivers": "the webhook receivers of [integrations] allow (host, baa = true)",
}


class RefResolver(Protocol):
    """Turns a ``{ ref = ... }`` into values, for one pack and one account."""

    def resolve(self, name: RefName, pack: Pack, account_id: int | None) -> tuple[Any, ...]:
        """The values a rule's ``ref`` names (for example ``phi_fields``) for ``pack``, for
        ``account_id`` where they vary by account.
        """

    def note(self, name: RefName, value: Any) -> str | None:
        """Why ``value`` is not in the ref, when there is more to say than "it is not"."""
        ...


class ConfigRefs:
    """Refs resolved from pack data and the config, computed once per (ref, pack, account).

    ``require_login_for_recordings`` decides whether ``recording_url`` is PHI: the
    desired value when declared, else the live one, else None (unknown: it is PHI).
    """

    def __init__(self, config: Config, require_login_for_recordings: bool | None) -> None:
        self.config = config
        self.require_login_for_recordings = require_login_for_recordings
        self._extra = {spec.id: spec.desired.extra_phi_fields for spec in config.accounts}
        allowed = config.integrations or ()
        self._with_baa = frozenset(i.name.lower() for i in allowed if i.baa)
        self._without_baa = frozenset(i.name.lower() for i in allowed if not i.baa)
        self._hosts_with_baa = frozenset(i.host for i in allowed if i.host and i.baa)
        self._hosts_without_baa = frozenset(i.host for i in allowed if i.host and not i.baa)
        self._cache: dict[tuple[RefName, str, int | None], tuple[Any, ...]] = {}

    def resolve(self, name: RefName, pack: Pack, account_id: int | None) -> tuple[Any, ...]:
        # Only the PHI list varies by account (``extra_phi_fields``).
        """The ref's values, computed once per (ref, pack, account); only ``phi_fields``
        differs by account.
        """
        key = (name, pack.id, account_id if name == "phi_fields" else None)
        if key not in self._cache:
            self._cache[key] = self._compute(name, pack, account_id)
        return self._cache[key]

    def note(self, name: RefName, value: Any) -> str | None:
        """A note for the result message when ``value`` is an integration allowed without a BAA."""
        if name == "allowed_integrations" and value in self._without_baa:
            return f"no BAA: {value} is allowed in [integrations] with baa = false"
        if name == "allowed_receivers" and value in self._hosts_without_baa:
            return f"no BAA: the receiver {value} is allowed in [integrations] with baa = false"
        return None

    def _compute(self, name: RefName, pack: Pack, account_id: int | None) -> tuple[Any, ...]:
        if name == "phi_fields":
            fields = phi_fields_for(
                (pack,),
                extra=self._extra_phi_fields(account_id),
                require_login_for_recordings=self.require_login_for_recordings,
            )
            return tuple(sorted(fields))
        if name == "eligible_plans":
            return tuple(normalize_plan(p) for p in pack.eligible_plans)
        if name == "allowed_integrations":
            return tuple(sorted(self._with_baa))
        if name == "allowed_receivers":
            return tuple(sorted(self._hosts_with_baa))
        return tuple(p.lower() for p in pack.shared_mailbox_local_parts)

    def _extra_phi_fields(self, account_id: int | None) -> tuple[str, ...]:
        """An ``[[account]]``'s list (defaults merged in), else ``[defaults]``'s."""
        if account_id is not None and account_id in self._extra:
            return self._extra[account_id]
        return self.config.defaults.extra_phi_fields


@dataclass(frozen=True)
class _Unknown:
    """A condition that cannot be decided: the data it needs is missing, either not
    exposed by the API (a field absent from the view) or not read (a failed read)."""

    reason: str
    kind: ErrorKind


Outcome = bool | _Unknown
# Collections that were not read: (account id or None, resource type), or a mapping of
# them to the reason.
Unread = Collection[tuple[int | None, str]] | Mapping[tuple[int | None, str], str | None]
UNREAD_PREFIX = "cannot evaluate: "
# Why a field of a view is missing in live mode: the mapping found no value it could read.
FIELD_REASON = "the API reply has no readable value for it"


class _Index:
    """Views by type, and by (account, type) for quantifiers; and the collections that
    were not read, with the reason when known."""

    def __init__(
        self,
        views: Sequence[ResourceView],
        unread: Unread,
        unexposed: frozenset[tuple[int | None, str]] = frozenset(),
    ):
        self.by_type: dict[str, list[ResourceView]] = defaultdict(list)
        self.by_account: dict[tuple[int | None, str], list[ResourceView]] = defaultdict(list)
        for view in views:
            self.by_type[view.resource_type].append(view)
            self.by_account[(view.account_id, view.resource_type)].append(view)
        self.unread: dict[tuple[int | None, str], str | None] = (
            dict(unread) if isinstance(unread, Mapping) else dict.fromkeys(unread)
        )
        self.unexposed = unexposed
        self._failed_reads = frozenset(
            unread_address(aid, resource_type)
            for (aid, resource_type), reason in self.unread.items()
            if reason is not None
        )

    def read_failed(self, address: str) -> bool:
        """Whether the collection at ``address`` was not read because a read failed
        (a reason was recorded), not because it was never asked for."""
        return address in self._failed_reads

    def unread_kind(self, key: tuple[int | None, str]) -> ErrorKind:
        """``unexposed`` when the API does not expose the collection, else ``unread``."""
        return "unexposed" if key in self.unexposed else "unread"

    def quantified(self, over: str, account_id: int | None) -> list[ResourceView] | _Unknown:
        if over == "agency.security":
            if (None, over) in self.unread:
                reason = could_not_read(AGENCY_ADDRESS, self.unread[(None, over)])
                return _Unknown(reason, self.unread_kind((None, over)))
            return self.by_type.get(over, [])
        if (account_id, over) in self.unread:
            address = unread_address(account_id, over)
            reason = could_not_read(address, self.unread[(account_id, over)])
            return _Unknown(reason, self.unread_kind((account_id, over)))
        return self.by_account.get((account_id, over), [])


def unread_address(account_id: int | None, resource_type: str) -> str:
    """The address of a collection that was not read; with no account, the agency's
    security settings or (for account resources) the account list."""
    if account_id is None:
        return AGENCY_ADDRESS if resource_type == AGENCY_ADDRESS else ACCOUNT_LIST_ADDRESS
    return f"{account_address(account_id)}.{resource_type}"


def could_not_read(what: str, reason: str | None = None) -> str:
    """The one wording of unread data, in check results and plan manual actions."""
    return f"could not read {what}" + (f": {reason}" if reason else "")


@dataclass(frozen=True)
class _Context:
    pack: Pack
    refs: RefResolver
    account_id: int | None

    def values(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self.refs.resolve(value.name, self.pack, self.account_id)
        return value


def evaluate(
    packs: Sequence[Pack],
    views: Sequence[ResourceView],
    refs: RefResolver,
    *,
    mode: Mode = "live",
    unread: Unread = frozenset(),
    unexposed: frozenset[tuple[int | None, str]] = frozenset(),
) -> tuple[RuleResult, ...]:
    """Every rule of ``packs`` over every view of its resource type, sorted by
    (rule id, address). ``unread`` names collections that were not read (with the
    reason, when a mapping): rules over them are ``error`` in live mode, never a pass;
    so are rules over a field that could not be read. ``unexposed`` names the unread
    collections the API does not expose (a 404 from an inferred endpoint): their errors
    are ``error_kind="unexposed"``, which a fact attestation may cover (SPEC section 7).
    An error's message is ``UNREAD_PREFIX`` + ``could_not_read(...)``."""
    index = _Index(views, unread, unexposed)
    results: list[RuleResult] = []
    for pack in packs:
        for rule in pack.rules:
            rule_results = [
                _evaluate_view(rule, view, index, _Context(pack, refs, view.account_id))
                for view in index.by_type.get(rule.resource, [])
            ]
            if mode == "live":
                results.extend(_merge_unread(rule_results, _unread_results(rule, index), index))
            else:
                results.extend(r for r in rule_results if r.status != "error")
    return tuple(sorted(results, key=lambda r: (r.rule.id, r.address)))


def _merge_unread(
    view_results: list[RuleResult], unread_results: list[RuleResult], index: _Index
) -> list[RuleResult]:
    """One result per address. A resource with a view whose value is missing (an
    account's plan) is also an unread collection: a failed read (a recorded reason) wins,
    so its error kind is the read's and an attestation cannot cover it; otherwise the
    view's own result stands."""
    failed = {r.address for r in unread_results if index.read_failed(r.address)}
    kept = [r for r in view_results if r.address not in failed]
    seen = {r.address for r in kept}
    return kept + [r for r in unread_results if r.address not in seen]


def _unread_results(rule: Rule, index: _Index) -> list[RuleResult]:
    unread = index.unread
    missing = sorted(
        (aid for aid, resource_type in unread if resource_type == rule.resource),
        key=lambda aid: -1 if aid is None else aid,
    )
    results = []
    for aid in missing:
        address = unread_address(aid, rule.resource)
        message = UNREAD_PREFIX + could_not_read(address, unread[(aid, rule.resource)])
        kind = index.unread_kind((aid, rule.resource))
        results.append(RuleResult(rule, address, "error", message, error_kind=kind))
    return results


def _evaluate_view(rule: Rule, view: ResourceView, index: _Index, ctx: _Context) -> RuleResult:
    unknown: list[_Unknown] = []
    for condition in rule.when:
        outcome = _holds(condition, view, index, ctx)
        if outcome is False:
            message = f"not applicable: {_describe(condition)}"
            return RuleResult(rule, view.address, "not_applicable", message)
        if isinstance(outcome, _Unknown):
            unknown.append(outcome)
    if unknown:
        message = UNREAD_PREFIX + "; ".join(dict.fromkeys(u.reason for u in unknown))
        return RuleResult(rule, view.address, "error", message, error_kind=_kind(unknown))
    return _check(rule, view, ctx)


def _kind(unknown: Sequence[_Unknown]) -> ErrorKind:
    """``unexposed`` only when every missing piece is: one failed read (or one value not
    recognised) is enough for no attestation to cover the result."""
    kinds = {u.kind for u in unknown}
    if kinds == {"unexposed"}:
        return "unexposed"
    return "unread" if "unread" in kinds else "unrecognized"


def _missing(field: str, view: ResourceView, where: str) -> _Unknown:
    """Why ``field`` is absent from ``view``: CTM returned a value hipaactl does not
    recognise, or it did not show the field at all."""
    if field in view.unrecognized:
        return _Unknown(f"{field}{where} is a value hipaactl does not recognise", "unrecognized")
    return _Unknown(could_not_read(f"{field}{where}", FIELD_REASON), "unexposed")


def _holds(condition: Condition, view: ResourceView, index: _Index, ctx: _Context) -> Outcome:
    if condition.over is None:
        return _test(condition, view, ctx)
    over = index.quantified(condition.over, view.account_id)
    if isinstance(over, _Unknown):
        return over
    outcomes = [_test(condition, other, ctx, f" of {other.address}") for other in over]
    unknown = next((o for o in outcomes if isinstance(o, _Unknown)), None)
    if condition.quantifier == "any":
        if any(o is True for o in outcomes):
            return True
        return unknown if unknown is not None else False  # any over nothing is false
    if any(o is False for o in outcomes):
        return False
    return unknown if unknown is not None else True  # all over nothing is true


def _test(condition: Condition, view: ResourceView, ctx: _Context, where: str = "") -> Outcome:
    """``condition`` on ``view``; ``where`` names the view when it is not the one the
    result is about (a quantifier's), so an unreadable field is named once."""
    if condition.field not in view.values:
        return _missing(condition.field, view, where)
    actual = _folded(condition, view.values[condition.field])
    return _compare(condition.op, actual, ctx.values(condition.value))


def _folded(condition: Condition, actual: Any) -> Any:
    """Field names compare case-insensitively (SPEC section 3: ``Caller_Name`` is
    ``caller_name``): against the PHI list, the live names are lowercased."""
    if not (isinstance(condition.value, Ref) and condition.value.name == "phi_fields"):
        return actual
    if isinstance(actual, str):
        return actual.lower()
    if isinstance(actual, (list, tuple)):
        return tuple(a.lower() if isinstance(a, str) else a for a in actual)
    return actual


# -- operators -----------------------------------------------------------------------


def _same(left: Any, right: Any) -> bool:
    """Equality that keeps booleans apart from numbers (``true`` is not ``1``)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(
            _same(a, b) for a, b in zip(left, right, strict=True)
        )
    return bool(left == right)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _member(value: Any, values: Sequence[Any]) -> bool:
    return any(_same(value, item) for item in values)


def _hits(actual: Any, values: Sequence[Any]) -> list[Any]:
    """The items of ``actual`` (a list; a scalar counts as one item) in ``values``, sorted."""
    items = actual if isinstance(actual, (list, tuple)) else (actual,)
    return sorted({item for item in items if _member(item, values)}, key=str)


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "==":
        return _same(actual, expected)
    if op == "!=":
        return not _same(actual, expected)
    if op in _ORDER:
        # A value that is not a number never satisfies an order.
        return _is_number(actual) and _is_number(expected) and bool(_ORDER[op](actual, expected))
    if op == "in":
        return _member(actual, expected)
    if op == "not_in":
        return not _member(actual, expected)
    if op == "contains_none":
        return not _hits(actual, expected)
    # "matches": the whole value must match; pack loading compiled the pattern already.
    return isinstance(actual, str) and full_match(expected, actual)


# -- results and messages ------------------------------------------------------------


def _check(rule: Rule, view: ResourceView, ctx: _Context) -> RuleResult:
    check = rule.check
    if check.field not in view.values:
        missing = _missing(check.field, view, "")
        message = UNREAD_PREFIX + missing.reason
        return RuleResult(rule, view.address, "error", message, error_kind=missing.kind)
    actual = _folded(check, view.values[check.field])
    expected = ctx.values(check.value)
    evidence = view.values.get(EVIDENCE_KEY)
    if _compare(check.op, actual, expected):
        message = _pass_message(check, actual)
        if evidence:
            message += f"; evidence: {evidence}"
        return RuleResult(rule, view.address, "pass", message)
    message = _fail_message(check, actual, expected, ctx)
    if rule.resource in MANUAL_RESOURCES:
        return RuleResult(rule, view.address, "manual", _manual_message(view, message))
    return RuleResult(rule, view.address, "fail", message)


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return json.dumps(value)


def _show_all(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _pass_message(check: Condition, actual: Any) -> str:
    if check.op == "contains_none":
        label = REF_LABELS[check.value.name] if isinstance(check.value, Ref) else "listed values"
        return f"{check.field} include no {label}"
    return f"{check.field} is {_show(actual)}"


def _fail_message(check: Condition, actual: Any, expected: Any, ctx: _Context) -> str:
    field, op = check.field, check.op
    ref = check.value.name if isinstance(check.value, Ref) else None
    if op == "contains_none":
        label = REF_LABELS[ref] if ref else "forbidden values"
        return f"{field} include {label}: {_show_all(_hits(actual, expected))}"
    note = ctx.refs.note(ref, actual) if ref else None
    if note is not None:
        return f"{field} is {_show(actual)} ({note})"
    if op in ("in", "not_in"):
        listed = REF_LABELS[ref] if ref else "[" + ", ".join(_show(v) for v in expected) + "]"
        if ref and op == "in":
            listed += f": {_show_all(expected)}" if expected else ", which is empty"
        verb = "must be one of" if op == "in" else "must not be one of"
        return f"{field} is {_show(actual)} ({verb} {listed})"
    if op == "matches":
        return f"{field} is {_show(actual)} (must match {expected})"
    if op == "==":
        return f"{field} is {_show(actual)} (must be {_show(expected)})"
    if op == "!=":
        return f"{field} is {_show(actual)} (must not be {_show(expected)})"
    return f"{field} is {_show(actual)} (must be {op} {_show(expected)})"


def _manual_message(view: ResourceView, message: str) -> str:
    table = "[attestations." + view.resource_type.partition(".")[2] + "]"
    if not view.values.get("present"):
        return f"{message}; no {table} in the config: only a person can attest this"
    problem = view.values.get(PROBLEM_KEY)
    if not problem:
        confirmed = view.values.get("confirmed_on")
        age = view.values.get("max_age_days")
        problem = f"confirmed_on {confirmed} is not within the last {age} days"
    evidence = view.values.get(EVIDENCE_KEY)
    suffix = f"; evidence: {evidence}" if evidence else ""
    return f"{message}; {table} {problem}{suffix}"


def _describe(condition: Condition) -> str:
    value = (
        f"{{ref = {condition.value.name}}}"
        if isinstance(condition.value, Ref)
        else _show(condition.value)
    )
    test = f"{condition.field} {condition.op} {value}"
    if condition.over is None:
        return f"{test} does not hold"
    return f"{condition.quantifier} {condition.over} with {test} does not hold"
