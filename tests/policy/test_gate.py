"""The gate on declared settings, the live audit, and a plan's manual actions."""

from __future__ import annotations

from hipaactl.config.model import (
    AccountDesired,
    AccountSelector,
    AgencySecurityDesired,
    Attestations,
    UserDesired,
)
from hipaactl.live.scope import classify_accounts
from hipaactl.policy.gate import evaluate_gate, evaluate_live, manual_actions
from hipaactl.policy.model import Condition, RuleResult

from .builders import (
    TODAY,
    account,
    account_spec,
    builtin_packs,
    config,
    info,
    live,
    number,
    override,
    pack,
    rule,
    settings,
)

CURRENT = builtin_packs("ctm-hipaa-current")
BOTH = builtin_packs()


def failing_ids(results: tuple[RuleResult, ...]) -> list[tuple[str, str]]:
    return [(r.rule.id, r.address) for r in results]


def test_idle_timeout_of_30_fails_the_gate() -> None:
    world = config(agency_security=AgencySecurityDesired(idle_timeout_minutes=30))
    outcome = evaluate_gate(world, CURRENT, today=TODAY)
    (failure,) = outcome.mandatory_failures
    assert failure.rule.id == "CTM-SEC-01"
    assert "45 CFR 164.312(a)(2)(iii)" in failure.rule.hipaa
    assert failure.message == "idle_timeout_minutes is 30 (must be <= 15)"
    assert failure.rule.remediation.startswith("Agency Settings > Security")
    assert not outcome.passed


def test_undeclared_keys_attestations_and_read_only_facts_are_not_gated() -> None:
    # Nothing declared, no attestations, no [integrations]: the gate has nothing to judge.
    world = config(attestations=Attestations(), integrations=None, selector=AccountSelector())
    outcome = evaluate_gate(world, BOTH, today=TODAY)
    assert outcome.results == ()
    assert outcome.passed


def test_declared_compliant_state_passes_both_packs() -> None:
    world = config(
        agency_security=AgencySecurityDesired(
            idle_timeout_minutes=15, two_factor="every_30_days", require_login_for_recordings=True
        ),
        defaults=AccountDesired(
            recordings_enabled=True,
            recordings_encrypted=True,
            recordings_encrypted_storage=True,
            transcription="secure",
            redaction="30_days",
            caller_id_enabled=False,
            caller_id_enhanced=False,
        ),
    )
    outcome = evaluate_gate(world, BOTH, today=TODAY)
    assert {r.status for r in outcome.results} == {"pass"}
    assert {r.rule.resource for r in outcome.results} == {
        "agency.security",
        "settings",
        "call_settings",
    }


def test_account_override_of_defaults_is_gated_at_its_address() -> None:
    world = config(
        defaults=AccountDesired(recordings_enabled=True, recordings_encrypted=True),
        accounts=(account_spec(1001, recordings_enabled=True, recordings_encrypted=False),),
    )
    outcome = evaluate_gate(world, CURRENT, today=TODAY)
    assert failing_ids(outcome.mandatory_failures) == [("CTM-ENC-01", "account[1001].settings")]


def test_defaults_are_gated_under_defaults_addresses() -> None:
    world = config(defaults=AccountDesired(transcription="standard"))
    outcome = evaluate_gate(world, CURRENT, today=TODAY)
    assert failing_ids(outcome.mandatory_failures) == [("CTM-TRN-01", "defaults.settings")]


def test_transcription_off_is_not_applicable() -> None:
    world = config(defaults=AccountDesired(transcription="off"))
    outcome = evaluate_gate(world, CURRENT, today=TODAY)
    trn = [r for r in outcome.results if r.rule.id == "CTM-TRN-01"]
    assert [(r.status, r.message.startswith("not applicable")) for r in trn] == [
        ("not_applicable", True)
    ]


def test_advisory_failures_are_warnings() -> None:
    world = config(defaults=AccountDesired(caller_id_enabled=True, redaction="off"))
    outcome = evaluate_gate(world, CURRENT, today=TODAY)
    assert outcome.passed
    assert failing_ids(outcome.advisory_failures) == [
        ("CTM-CID-01", "defaults.call_settings"),
        ("CTM-RED-01", "defaults.settings"),
    ]


def test_override_turns_a_mandatory_failure_into_a_waived_warning() -> None:
    world = config(
        agency_security=AgencySecurityDesired(idle_timeout_minutes=30),
        overrides=(override("CTM-SEC-01"), override("CTM-NOPE-01")),
    )
    outcome = evaluate_gate(world, CURRENT, today=TODAY)
    assert outcome.passed
    (waived,) = outcome.advisory_failures
    assert (waived.rule.id, waived.status, waived.waived) == ("CTM-SEC-01", "fail", True)
    assert len(outcome.warnings) == 1
    assert "CTM-NOPE-01" in outcome.warnings[0]


# -- live ----------------------------------------------------------------------------


def test_evaluate_live_applies_overrides() -> None:
    state = live(account(settings=settings(redaction_schedule="off")))
    world = config(overrides=(override("CTM-RED-01"),))
    scope = classify_accounts(world, state.all_accounts)
    results, warnings = evaluate_live(world, CURRENT, state, scope, today=TODAY)
    assert warnings == ()
    assert [(r.status, r.waived) for r in results if r.rule.id == "CTM-RED-01"] == [("fail", True)]


def test_manual_actions_come_from_read_only_facts() -> None:
    state = live(
        account(
            plan="Starter", numbers=(number("TPN2", eligible=False), number("TPN1", eligible=None))
        ),
        account(1002, settings=settings(encrypted_recordings=False)),
        others=(info(1999),),
    )
    world = config(attestations=Attestations(), selector=AccountSelector(include=(1001, 1002)))
    scope = classify_accounts(world, state.all_accounts)
    results, _ = evaluate_live(world, CURRENT, state, scope, today=TODAY)
    actions = manual_actions(results)
    # Not here: the fixable settings of 1002 and the unclassified account 1999 (scope).
    # Facts that could not be read are named, never hidden (SPEC section 5): the number
    # whose eligibility is unknown.
    assert [(a.address, a.rule_ids, a.unread) for a in actions] == [
        ('account[1001].number["TPN1"]', ("CTM-NUM-01",), True),
        ('account[1001].number["TPN2"]', ("CTM-NUM-01",), False),
        ("account[1001].plan", ("CTM-PLAN-01",), False),
        ("attestation.baa", ("CTM-BAA-01",), False),
        ("attestation.individual_logins", ("CTM-LOGIN-01",), False),
    ]
    assert actions[0].message == (
        "could not read hipaa_eligible: the API reply has no readable value for it"
    )
    plan_action = actions[2]
    assert plan_action.message.startswith('plan is "starter"')
    assert plan_action.remediation[0].startswith("Account Settings > Plan")


def test_manual_actions_group_rules_per_address_and_skip_waived() -> None:
    first = rule(Condition("plan", "in", ("a",)), resource="plan", rule_id="B-01")
    second = rule(Condition("plan", "in", ("b",)), resource="plan", rule_id="A-01")
    waived = rule(Condition("plan", "in", ("c",)), resource="plan", rule_id="C-01")
    pack(first, second, waived)
    results = (
        RuleResult(first, "account[1].plan", "fail", "not a"),
        RuleResult(second, "account[1].plan", "fail", "not b"),
        RuleResult(waived, "account[1].plan", "fail", "not c", waived=True),
    )
    (action,) = manual_actions(results)
    assert action.rule_ids == ("A-01", "B-01")
    assert action.message == "not b; not a"
    assert action.remediation == ("fix it",)


def test_declared_shared_mailbox_user_is_an_advisory_warning() -> None:
    desk = UserDesired(
        email="FrontDesk@clinic.example", first_name="Front", last_name="Desk", role="agent"
    )
    outcome = evaluate_gate(
        config(accounts=(account_spec(1001, users=(desk,)),)), CURRENT, today=TODAY
    )
    assert outcome.passed
    assert failing_ids(outcome.advisory_failures) == [
        ("CTM-LOGIN-02", 'account[1001].user["frontdesk@clinic.example"]')
    ]
