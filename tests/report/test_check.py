"""The check report: statuses, summary, exit code, scope, users inventory, locations in
the config file, and the JSON format. Built from the policy tests' compliant world."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from hipaactl.config.model import (
    AccountSelector,
    Config,
    Exclusion,
    UserDesired,
)
from hipaactl.model.state import LiveState
from hipaactl.policy.model import Pack, Rule
from hipaactl.report.check import (
    ALL_PASSED,
    BUCKETS,
    DISCLAIMER,
    Report,
    declaring_key,
    report_document,
    report_sections,
)
from hipaactl.report.render.json import render_json
from tests.policy.builders import (
    TODAY,
    account,
    account_spec,
    attestations,
    config,
    info,
    live,
    number,
    override,
    security,
    settings,
    user,
)
from tests.policy.test_rules import CASES, PACKS, PREFIXES, Case
from tests.report.render.builders import CURRENT, NOON, report_of


def statuses(report: Report, rule_id: str) -> dict[str, str]:
    return {r.address: r.status for r in report.results if r.rule.id == rule_id}


# -- every rule passes and fails through the report -----------------------------------


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_every_rule_passes_in_the_compliant_world(pack_id: str) -> None:
    report = report_of(packs=(PACKS[pack_id],))
    assert {r.rule.id for r in report.results} == {rule.id for rule in PACKS[pack_id].rules}
    assert report.summary()["pass"] == len(report.results)
    assert (report.exit_code, report.conclusion) == (0, ALL_PASSED)


FAILING = [case for case in CASES if case.status not in ("pass", "not_applicable")]


@pytest.mark.parametrize("case", FAILING, ids=lambda c: f"{c.rule_id}: {c.label}")
def test_every_failing_fixture_is_reported(case: Case) -> None:
    pack = PACKS[next(p for prefix, p in PREFIXES.items() if case.rule_id.startswith(prefix))]
    report = report_of(case.config, case.live, (pack,))
    found = statuses(report, case.rule_id)
    assert case.status in found.values(), found
    if case.address is not None:
        assert found[case.address] == case.status
    if pack_rule(pack, case.rule_id).enforcement == "mandatory":
        assert report.exit_code == 3
    else:
        assert case.rule_id not in {r.rule.id for r in report.mandatory_failures}


def pack_rule(pack: Pack, rule_id: str) -> Rule:
    return next(r for r in pack.rules if r.id == rule_id)


def test_every_rule_has_a_failing_fixture() -> None:
    every = {rule.id for pack in PACKS.values() for rule in pack.rules}
    assert {case.rule_id for case in FAILING} == every


# -- statuses, summary and exit code ---------------------------------------------------


def test_summary_counts_every_result_once() -> None:
    state = live(account(settings=settings(redaction_schedule="off")))
    report = report_of(state=state, world=config(attestations=attestations(baa=None)))
    summary = report.summary()
    assert list(summary) == list(BUCKETS)
    assert sum(summary.values()) == len(report.results)
    assert (summary["fail"], summary["manual"]) == (1, 1)


def test_manual_attestation_fails_the_check() -> None:
    report = report_of(world=config(attestations=attestations(individual_logins=None)))
    assert statuses(report, "CTM-LOGIN-01") == {"attestation.individual_logins": "manual"}
    assert report.exit_code == 3
    assert report.conclusion == "1 mandatory check failed or need an attestation"


def test_advisory_failures_keep_exit_zero_and_say_all_mandatory_checks_passed() -> None:
    report = report_of(state=live(account(settings=settings(redaction_schedule="off"))))
    assert report.summary()["fail"] == 1
    assert (report.exit_code, report.conclusion) == (0, ALL_PASSED)
    assert [name for name, _ in report_sections(report)] == ["advisory"]


def test_unreadable_data_is_an_error_never_a_pass_and_errors_win() -> None:
    state = live(
        account(numbers=(number("TPN1", eligible=None),), settings=None),
        agency_security=security(idle_timeout_minutes=60),
    )
    report = report_of(state=state)
    assert statuses(report, "CTM-NUM-01") == {'account[1001].number["TPN1"]': "error"}
    assert set(statuses(report, "CTM-ENC-01").values()) == {"error"}
    assert statuses(report, "CTM-SEC-01") == {"agency.security": "fail"}
    assert report.exit_code == 1  # errors win over the mandatory failure
    assert report.conclusion.startswith("5 checks could not be evaluated (error)")
    assert "1 mandatory check failed" in report.conclusion


def test_waived_failure_counts_as_waived_and_does_not_fail_the_check() -> None:
    world = config(overrides=(override("CTM-SEC-01"),))
    report = report_of(world, live(agency_security=security(idle_timeout_minutes=60)))
    waived = [r for r in report.results if r.waived]
    assert [(r.rule.id, r.status) for r in waived] == [("CTM-SEC-01", "fail")]
    assert (report.summary()["waived"], report.summary()["fail"]) == (1, 0)
    assert (report.exit_code, report.conclusion) == (0, ALL_PASSED)
    assert report.override_for("CTM-SEC-01") == world.overrides[0]


def test_expired_override_is_ignored_with_a_warning() -> None:
    world = config(overrides=(override("CTM-SEC-01", TODAY - dt.timedelta(days=1)),))
    report = report_of(world, live(agency_security=security(idle_timeout_minutes=60)))
    assert not any(r.waived for r in report.results)
    assert report.exit_code == 3
    assert len(report.warnings) == 1
    assert "expired on 2026-05-31 and is ignored" in report.warnings[0]


def test_attestations_expire_with_the_evaluation_date() -> None:
    confirmed = attestations().baa
    assert confirmed is not None
    a_year_later = NOON + dt.timedelta(days=(confirmed.confirmed_on - TODAY).days + 366)
    report = report_of(at=a_year_later)
    assert statuses(report, "CTM-BAA-01") == {"attestation.baa": "manual"}


def test_config_max_age_shortens_the_packs_age() -> None:
    short = replace(attestations(), max_age_days=30)  # confirmed 2026-01-15, today 2026-06-01
    report = report_of(world=config(attestations=short))
    assert set(statuses(report, "CTM-BAA-01").values()) == {"manual"}


# -- scope and users --------------------------------------------------------------------


def test_scope_lists_every_live_account_and_unclassified_ones_fail() -> None:
    selector = AccountSelector(
        include=(1001,), exclude=(Exclusion(reason="marketing only", id=1999),)
    )
    state = live(account(), others=(info(1999), info(2000)))
    report = report_of(config(selector=selector), state)
    assert report_document(report)["scope"] == {
        "managed": [1001],
        "excluded": [{"id": 1999, "reason": "marketing only"}],
        "unclassified": [2000],
    }
    assert statuses(report, "CTM-SCOPE-01") == {
        "account[1001]": "pass",
        "account[1999]": "pass",
        "account[2000]": "fail",
    }
    assert report.exit_code == 3


def test_users_inventory_is_every_user_of_every_managed_account_sorted() -> None:
    state = live(
        account(1002, users=(user("zoe@b.example", role="agent"), user("Al@b.example"))),
        account(1001, users=(user("Dr.Lee@a.example", status="invited"),)),
    )
    document = report_document(report_of(state=state))
    assert document["users"] == [
        {"account": 1001, "email": "dr.lee@a.example", "role": "admin", "status": "invited"},
        {"account": 1002, "email": "al@b.example", "role": "admin", "status": "active"},
        {"account": 1002, "email": "zoe@b.example", "role": "agent", "status": "active"},
    ]


# -- where results point in the config file --------------------------------------------

KEY_LINES = {
    "agency.security": 10,
    "agency.security.idle_timeout_minutes": 11,
    "defaults.redaction": 20,
    "account[#0]": 30,
    "account[#0].redaction": 31,
    "account[#0].user[#0].email": 33,
    "attestations.baa.confirmed_on": 40,
    "integrations.allow": 50,
}


def located_world() -> Config:
    spec = account_spec(1001, redaction="manual")
    spec = replace(
        spec,
        desired=replace(
            spec.desired,
            users=(UserDesired("FrontDesk@clinic.example", "Front", "Desk", "agent"),),
        ),
    )
    return config(accounts=(spec, account_spec(1002, index=1)), key_lines=KEY_LINES)


def located(rule_id: str, address: str, world: Config, state: LiveState) -> tuple[str | None, int]:
    report = report_of(world, state)
    result = next(r for r in report.results if (r.rule.id, r.address) == (rule_id, address))
    location = report.location_of(result)
    assert declaring_key(world, result) == location.key
    return location.key, location.line


def test_results_point_at_the_key_that_declares_the_value() -> None:
    world = located_world()
    state = live(
        account(1001, settings=settings(redaction_schedule="off")),
        account(1002, settings=settings(redaction_schedule="off"), plan="Basic"),
        agency_security=security(idle_timeout_minutes=60),
    )
    assert located("CTM-SEC-01", "agency.security", world, state) == (
        "agency.security.idle_timeout_minutes",
        11,
    )
    # An [[account]] key wins over [defaults]; an account without one uses [defaults].
    assert located("CTM-RED-01", "account[1001].settings", world, state) == (
        "account[#0].redaction",
        31,
    )
    assert located("CTM-RED-01", "account[1002].settings", world, state) == (
        "defaults.redaction",
        20,
    )
    assert located("CTM-BAA-01", "attestation.baa", world, state)[1] == 40


def test_undeclared_values_point_at_line_one() -> None:
    world = located_world()
    state = live(
        account(1001, users=(user("frontdesk@clinic.example"), user("info@clinic.example"))),
        account(1002, plan="Basic"),
    )
    assert located("CTM-PLAN-01", "account[1002].plan", world, state) == (None, 1)
    assert located(
        "CTM-LOGIN-02", 'account[1001].user["frontdesk@clinic.example"]', world, state
    ) == ("account[#0].user[#0].email", 33)
    assert located("CTM-LOGIN-02", 'account[1001].user["info@clinic.example"]', world, state) == (
        None,
        1,
    )


# -- the JSON report ------------------------------------------------------------------


def test_json_report_has_the_documented_shape() -> None:
    state = live(agency_security=security(idle_timeout_minutes=60))
    document = report_document(report_of(state=state))
    assert set(document) == {
        "format_version",
        "packs",
        "config_sha256",
        "run",
        "scope",
        "summary",
        "results",
        "users",
        "conclusion",
        "disclaimer",
    }
    assert document["format_version"] == "1"
    pack = CURRENT[0]
    assert document["packs"] == [{"id": pack.id, "version": pack.version, "sha256": pack.sha256}]
    assert document["run"]["evaluated_at"] == "2026-06-01T12:00:00+00:00"
    assert set(document["summary"]) == {
        "pass",
        "attested",
        "fail",
        "error",
        "manual",
        "not_applicable",
        "waived",
    }
    failing = next(r for r in document["results"] if r["status"] == "fail")
    assert failing == {
        "rule_id": "CTM-SEC-01",
        "pack": "ctm-hipaa-current",
        "address": "agency.security",
        "status": "fail",
        "enforcement": "mandatory",
        "severity": "high",
        "hipaa": ["45 CFR 164.312(a)(2)(iii)"],
        "message": "idle_timeout_minutes is 60 (must be <= 15)",
        "remediation": "Agency Settings > Security: log out idle users after 15 minutes or less.",
        "waived": False,
    }
    keys = [(r["rule_id"], r["address"]) for r in document["results"]]
    assert keys == sorted(keys)
    assert document["disclaimer"] == DISCLAIMER


def test_json_report_is_byte_stable_but_for_evaluated_at() -> None:
    first = render_json(report_document(report_of()))
    assert render_json(report_document(report_of())) == first
    later = report_document(report_of(at=NOON + dt.timedelta(minutes=5)))
    assert later["run"]["evaluated_at"] != "2026-06-01T12:00:00+00:00"
    later["run"]["evaluated_at"] = "2026-06-01T12:00:00+00:00"
    assert render_json(later) == first
