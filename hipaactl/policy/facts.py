"""``[attestations.facts."RULE-ID"]``: a person's dated word for a fact the API does not
expose (an inferred endpoint that answers 404, an inferred field absent from every
object). It turns that rule's ``unexposed`` errors into ``attested``: their own status,
never a failure, shown with the evidence, under the same expiry as the other
attestations (SPEC section 7). An ``unread`` error (a 5xx, a timeout, an account that
could not be read) stays ``error``: a person's word is about what CTM does not show,
never about a read that failed this run, so an outage never passes as success; so does
an ``unrecognized`` one (CTM showed a value hipaactl does not recognise). An
expired attestation changes nothing and warns, as does one naming no loaded rule.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from hipaactl.config.model import FactAttestation
from hipaactl.policy.model import Pack, RuleResult


@dataclass(frozen=True)
class FactAttestations:
    """The config's fact attestations sorted for one day: ``current`` maps a rule id to
    the attestation in force for it; ``warnings`` name the stale ones and those naming no
    loaded rule. Depends only on the config, the packs and the day, so it is worked out
    once per run (``GateOutcome.facts``) and applied to every set of results."""

    current: Mapping[str, FactAttestation] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def attest(self, results: Sequence[RuleResult]) -> tuple[RuleResult, ...]:
        """``results`` with the ``unexposed`` errors of every rule a current attestation
        names turned ``attested`` (the message carries who, when and the note), and its
        ``unread`` and ``unrecognized`` errors kept ``error`` with a message saying the
        attestation does not cover them."""
        current = self.current
        return tuple(
            _apply(r, current[r.rule.id]) if r.status == "error" and r.rule.id in current else r
            for r in results
        )


def fact_attestations(
    facts: Sequence[FactAttestation],
    packs: Sequence[Pack],
    *,
    today: dt.date,
    max_age_days: int,
) -> FactAttestations:
    """Which of ``facts`` are in force on ``today`` (confirmed within ``max_age_days``,
    naming a rule of ``packs``), with a warning for each that is not."""
    rule_ids = sorted(rule.id for pack in packs for rule in pack.rules)
    current: dict[str, FactAttestation] = {}
    warnings: list[str] = []
    for fact in facts:
        table = f'[attestations.facts."{fact.rule_id}"]'
        if fact.rule_id not in rule_ids:
            message = f"{table} names no rule of the loaded packs and has no effect"
            close = difflib.get_close_matches(fact.rule_id, rule_ids, n=1)
            warnings.append(message + (f'; did you mean "{close[0]}"?' if close else ""))
        elif not 0 <= (today - fact.confirmed_on).days <= max_age_days:
            warnings.append(
                f"{table} confirmed_on {fact.confirmed_on.isoformat()} is not within the last "
                f"{max_age_days} days and is ignored: confirm the fact again and update it"
            )
        else:
            current[fact.rule_id] = fact
    return FactAttestations(current, tuple(warnings))


def _apply(result: RuleResult, fact: FactAttestation) -> RuleResult:
    if result.error_kind == "unexposed":
        return _attested(result, fact)
    table = f'[attestations.facts."{fact.rule_id}"]'
    if result.error_kind == "unrecognized":
        why = "a value CTM returned that hipaactl does not recognise"
    else:
        why = "a failed read: it vouches for a fact the API does not expose, not for data "
        why += "this run could not read"
    return replace(result, message=f"{result.message} ({table} does not cover {why})")


def _attested(result: RuleResult, fact: FactAttestation) -> RuleResult:
    reason = result.message.removeprefix("cannot evaluate: ")
    message = (
        f"attested by {fact.by} on {fact.confirmed_on.isoformat()}: {fact.note} "
        f"(the API did not show it: {reason})"
    )
    return replace(result, status="attested", message=message)
