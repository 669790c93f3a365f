"""``[policy.overrides]``: a reviewed, dated waiver downgrades a rule to advisory.

A waived result keeps its status (``fail`` or ``manual``) with ``waived=True``; it never
affects the exit code. An expired override is ignored, and one naming no loaded rule does
nothing; both come back as warnings.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import replace

from hipaactl.config.model import Override
from hipaactl.policy.model import Pack, RuleResult

_WAIVABLE = frozenset({"fail", "manual"})  # an error is missing data: nothing to waive


def apply_overrides(
    results: Sequence[RuleResult],
    overrides: Sequence[Override],
    packs: Sequence[Pack],
    *,
    today: dt.date,
) -> tuple[tuple[RuleResult, ...], tuple[str, ...]]:
    """Results with current overrides marked waived, and the warnings about the rest."""
    rule_ids = sorted(rule.id for pack in packs for rule in pack.rules)
    current: set[str] = set()
    warnings: list[str] = []
    for override in sorted(overrides, key=lambda o: o.rule_id):
        if override.rule_id not in rule_ids:
            warnings.append(_unknown_rule_warning(override.rule_id, rule_ids))
        elif override.expires_on < today:
            warnings.append(
                f'[policy.overrides] "{override.rule_id}" expired on '
                f"{override.expires_on.isoformat()} and is ignored: the rule is enforced "
                "again; fix the setting or renew the override with a new expires_on"
            )
        else:
            current.add(override.rule_id)
    waived = tuple(
        replace(r, waived=True) if r.rule.id in current and r.status in _WAIVABLE else r
        for r in results
    )
    return waived, tuple(warnings)


def _unknown_rule_warning(rule_id: str, rule_ids: Sequence[str]) -> str:
    message = f'[policy.overrides] "{rule_id}" names no rule of the loaded packs and has no effect'
    close = difflib.get_close_matches(rule_id, rule_ids, n=1)
    if close:
        message += f'; did you mean "{close[0]}"?'
    return message
