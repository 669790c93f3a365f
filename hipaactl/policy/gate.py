"""Policy entry points for the pipeline: the gate on declared settings, the live audit,
and the manual actions a plan lists.

The gate (``validate``, ``plan``, ``apply``) sees only what the config declares: a rule
needing an undeclared key is skipped, and attestations, read-only facts and account
scope are never part of it (``check`` reports them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from hipaactl.config.model import Config
from hipaactl.live.scope import Scope
from hipaactl.model.changes import ManualAction
from hipaactl.model.state import LiveState, live_login_required
from hipaactl.policy.evaluate import UNREAD_PREFIX, ConfigRefs, evaluate
from hipaactl.policy.facts import FactAttestations, fact_attestations
from hipaactl.policy.model import READ_ONLY_RESOURCES, Pack, RuleResult
from hipaactl.policy.overrides import apply_overrides
from hipaactl.policy.views import (
    attestation_max_age_days,
    declared_views,
    live_views,
    unexposed_collections,
    unread_collections,
)

_MANUAL_STATUSES = frozenset({"fail", "manual", "error"})
# Unclassified accounts are a config fix (scope), reported by check, not a manual action.
_NOT_MANUAL = frozenset({"account"})


@dataclass(frozen=True)
class GateOutcome:
    """The gate's results and warnings, and the fact attestations in force (worked out
    once here; a plan's manual actions reuse them)."""

    results: tuple[RuleResult, ...]
    warnings: tuple[str, ...]
    facts: FactAttestations = field(default_factory=FactAttestations)

    @property
    def mandatory_failures(self) -> tuple[RuleResult, ...]:
        """The failed results whose effective enforcement is mandatory (waivers demote them)."""
        return tuple(
            r for r in self.results if r.status == "fail" and r.effective_enforcement == "mandatory"
        )

    @property
    def advisory_failures(self) -> tuple[RuleResult, ...]:
        """Advisory rules that failed, waived mandatory ones included."""
        return tuple(
            r for r in self.results if r.status == "fail" and r.effective_enforcement == "advisory"
        )

    @property
    def passed(self) -> bool:
        """Whether no mandatory rule failed; otherwise plan and apply stop (exit 3)."""
        return not self.mandatory_failures


def evaluate_gate(config: Config, packs: Sequence[Pack], *, today: dt.date) -> GateOutcome:
    """Rules over the declared desired state. Whether recordings need a login (and so
    whether ``recording_url`` is PHI) is the declared value, or unknown."""
    refs = ConfigRefs(config, config.agency_security.require_login_for_recordings)
    results = evaluate(packs, declared_views(config), refs, mode="gate")
    waived, warnings = apply_overrides(results, config.overrides, packs, today=today)
    # Fact attestations change no gate result; validate still names stale or unknown ones.
    facts = config_facts(config, packs, today=today)
    return GateOutcome(waived, (*facts.warnings, *warnings), facts)


def config_facts(config: Config, packs: Sequence[Pack], *, today: dt.date) -> FactAttestations:
    """The config's ``[attestations.facts]`` in force on ``today``, under the packs'
    attestation expiry (SPEC section 7), with warnings for the rest."""
    return fact_attestations(
        config.attestations.facts,
        packs,
        today=today,
        max_age_days=attestation_max_age_days(packs, config),
    )


def evaluate_live(
    config: Config,
    packs: Sequence[Pack],
    live: LiveState,
    scope: Scope,
    *,
    today: dt.date,
) -> tuple[tuple[RuleResult, ...], tuple[str, ...]]:
    """Rules over live state (every managed account, every account's scope, the
    attestations), after overrides; and the override warnings."""
    declared = config.agency_security.require_login_for_recordings
    live_login = live_login_required(live.agency_security)
    refs = ConfigRefs(config, declared if declared is not None else live_login)
    views = live_views(config, live, scope, today=today, packs=packs)
    results = evaluate(
        packs,
        views,
        refs,
        mode="live",
        unread=unread_collections(live, scope),
        unexposed=unexposed_collections(live),
    )
    facts = config_facts(config, packs, today=today)
    waived, warnings = apply_overrides(facts.attest(results), config.overrides, packs, today=today)
    return waived, (*facts.warnings, *warnings)


def _read_only_pack(pack: Pack) -> Pack:
    rules = tuple(
        r for r in pack.rules if r.resource in READ_ONLY_RESOURCES and r.resource not in _NOT_MANUAL
    )
    return replace(pack, rules=rules)


def evaluate_read_only(
    config: Config,
    packs: Sequence[Pack],
    live: LiveState,
    scope: Scope,
    *,
    today: dt.date,
    facts: FactAttestations | None = None,
) -> tuple[tuple[ManualAction, ...], tuple[str, ...]]:
    """A plan's manual actions: only the rules over read-only facts, over views of only
    the types they look at, so a plan of 10,000 accounts does not evaluate (and hold)
    every rule of every resource the way ``check`` must. ``facts`` are the attestations
    the gate already sorted (``GateOutcome.facts``); worked out here when not given."""
    read_only = [_read_only_pack(p) for p in packs]
    rules = [r for p in read_only for r in p.rules]
    types = frozenset(
        [r.resource for r in rules] + [c.over for r in rules for c in r.when if c.over]
    )
    declared = config.agency_security.require_login_for_recordings
    live_login = live_login_required(live.agency_security)
    refs = ConfigRefs(config, declared if declared is not None else live_login)
    views = live_views(config, live, scope, today=today, packs=packs, types=types)
    # Only reads that failed: a plan leaves some collections unread on purpose (outside
    # --target, or integrations with no [integrations] declared).
    unread = {
        (u.account_id, u.resource_type): u.reason for u in live.unread if u.resource_type in types
    }
    results = evaluate(
        read_only, views, refs, mode="live", unread=unread, unexposed=unexposed_collections(live)
    )
    # A fact a person attested is not "could not read" (SPEC section 7); its warnings
    # are check's and validate's to give.
    if facts is None:
        facts = config_facts(config, packs, today=today)
    results = facts.attest(results)
    # Overrides are matched against every rule, so none is reported as unknown here.
    waived, warnings = apply_overrides(results, config.overrides, packs, today=today)
    return manual_actions(waived), warnings


def manual_actions(results: Sequence[RuleResult]) -> tuple[ManualAction, ...]:
    """Failed, manual or unreadable (``error``) results on read-only facts, one action
    per address, sorted. An unreadable fact is an action "could not read …" with the
    reason (SPEC section 5): a plan never hides it. Waived results are left out: the
    override is the reviewed decision about them."""
    by_address: dict[str, list[RuleResult]] = defaultdict(list)
    for result in results:
        resource = result.rule.resource
        if (
            result.status in _MANUAL_STATUSES
            and not result.waived
            and resource in READ_ONLY_RESOURCES
            and resource not in _NOT_MANUAL
        ):
            by_address[result.address].append(result)
    return tuple(_manual_action(address, by_address[address]) for address in sorted(by_address))


def _manual_message(result: RuleResult) -> str:
    if result.status == "error":
        return result.message.removeprefix(UNREAD_PREFIX)
    return result.message


def _manual_action(address: str, results: list[RuleResult]) -> ManualAction:
    ordered = sorted(results, key=lambda r: r.rule.id)
    return ManualAction(
        address=address,
        rule_ids=tuple(dict.fromkeys(r.rule.id for r in ordered)),
        remediation=tuple(dict.fromkeys(r.rule.remediation for r in ordered)),
        message="; ".join(dict.fromkeys(_manual_message(r) for r in ordered)),
        unread=any(r.status == "error" for r in ordered),
    )
