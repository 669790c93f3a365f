"""[policy.overrides]: current ones waive, expired and unknown ones warn."""

from __future__ import annotations

import datetime as dt

from hipaactl.policy.model import Condition, RuleResult, Status
from hipaactl.policy.overrides import apply_overrides

from .builders import TODAY, override, pack, rule

RED = rule(
    Condition("redaction_schedule", "in", ("daily",)), resource="settings", rule_id="CTM-RED-01"
)
SEC = rule(Condition("idle_timeout_minutes", "<=", 15), rule_id="CTM-SEC-01")
PACKS = (pack(RED, SEC),)


def result(
    status: Status, rule_id: str = "CTM-RED-01", address: str = "account[1].settings"
) -> RuleResult:
    return RuleResult(RED if rule_id == "CTM-RED-01" else SEC, address, status, "message")


def test_current_override_waives_failures_and_keeps_their_status() -> None:
    results = (
        result("fail"),
        result("pass", address="account[2].settings"),
        result("fail", "CTM-SEC-01"),
    )
    waived, warnings = apply_overrides(results, (override("CTM-RED-01"),), PACKS, today=TODAY)
    assert warnings == ()
    assert [(r.rule.id, r.status, r.waived) for r in waived] == [
        ("CTM-RED-01", "fail", True),
        ("CTM-RED-01", "pass", False),
        ("CTM-SEC-01", "fail", False),
    ]
    assert waived[0].effective_enforcement == "advisory"
    assert waived[2].effective_enforcement == "mandatory"


def test_manual_results_are_waived_errors_are_not() -> None:
    waived, _ = apply_overrides(
        (result("manual"), result("error", address="account[2].settings")),
        (override("CTM-RED-01"),),
        PACKS,
        today=TODAY,
    )
    assert [r.waived for r in waived] == [True, False]


def test_override_is_current_through_its_expiry_day() -> None:
    waived, warnings = apply_overrides(
        (result("fail"),), (override("CTM-RED-01", TODAY),), PACKS, today=TODAY
    )
    assert waived[0].waived
    assert warnings == ()


def test_expired_override_is_ignored_with_a_warning() -> None:
    expired = override("CTM-RED-01", TODAY - dt.timedelta(days=1))
    waived, warnings = apply_overrides((result("fail"),), (expired,), PACKS, today=TODAY)
    assert not waived[0].waived
    (warning,) = warnings
    assert warning.startswith(
        '[policy.overrides] "CTM-RED-01" expired on 2026-05-31 and is ignored'
    )


def test_unknown_rule_warns_with_a_suggestion() -> None:
    waived, warnings = apply_overrides(
        (result("fail"),), (override("CTM-RED-1"),), PACKS, today=TODAY
    )
    assert not waived[0].waived
    assert warnings == (
        '[policy.overrides] "CTM-RED-1" names no rule of the loaded packs and has no effect; '
        'did you mean "CTM-RED-01"?',
    )
