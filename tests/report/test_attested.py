"""``[attestations.facts."RULE-ID"]``: a person's dated word turns the ``error`` of a
fact the API does not expose into ``attested`` (SPEC section 7)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

from hipaactl.config.model import FactAttestation
from hipaactl.live.scope import classify_accounts
from hipaactl.model.state import TrackingNumber, Unrecognized
from hipaactl.policy.gate import evaluate_gate, evaluate_read_only
from hipaactl.report.check import report_document
from hipaactl.report.render.html import render_html
from hipaactl.report.render.junit import render_junit
from hipaactl.report.render.markdown import render_markdown
from hipaactl.report.render.sarif import render_sarif
from hipaactl.report.render.text import render_report
from tests.conftest import CliRunner
from tests.policy.builders import (
    TODAY,
    account,
    attestations,
    builtin_packs,
    config,
    live,
    number,
)
from tests.report.render.builders import report_of

CURRENT = builtin_packs("ctm-hipaa-current")
UNEXPOSED = live(account(numbers=(number("TPN1", eligible=None), number("TPN2", eligible=None))))


def fact(
    confirmed_on: dt.date = dt.date(2026, 5, 1), rule_id: str = "CTM-NUM-01"
) -> FactAttestation:
    return FactAttestation(
        rule_id, confirmed_on, "compliance@clinic.example", "every number bought as HIPAA-eligible"
    )


def with_facts(*facts: FactAttestation) -> object:
    return config(attestations=replace(attestations(), facts=facts))


def test_without_an_attestation_an_unexposed_fact_is_an_error() -> None:
    report = report_of(state=UNEXPOSED)
    statuses = {r.status for r in report.results if r.rule.id == "CTM-NUM-01"}
    assert statuses == {"error"}
    assert report.exit_code == 1


def test_a_current_attestation_makes_it_attested_and_counted_apart() -> None:
    report = report_of(with_facts(fact()), UNEXPOSED)  # type: ignore[arg-type]
    numbers = [r for r in report.results if r.rule.id == "CTM-NUM-01"]
    assert {r.status for r in numbers} == {"attested"}
    assert numbers[0].message.startswith(
        "attested by compliance@clinic.example on 2026-05-01: every number bought as "
        "HIPAA-eligible (the API did not show it: could not read hipaa_eligible: the API reply "
        "has no readable value for it)"
    )
    assert report.summary()["attested"] == 2
    assert report.exit_code == 0
    assert report_document(report)["summary"]["attested"] == 2


def test_attested_results_are_shown_with_their_evidence_in_every_format() -> None:
    report = report_of(with_facts(fact()), UNEXPOSED)  # type: ignore[arg-type]
    text = render_report(report)
    assert "Attested by a person" in text and "2 attested" in text
    assert "every number bought as HIPAA-eligible" in render_markdown(report)
    assert "every number bought as HIPAA-eligible" in render_html(report)
    assert "<error" not in render_junit(report)
    assert "CTM-NUM-01" not in {
        r["ruleId"] for run in json.loads(render_sarif(report))["runs"] for r in run["results"]
    }


def test_a_stale_attestation_changes_nothing_and_warns() -> None:
    stale = TODAY - dt.timedelta(days=400)
    report = report_of(with_facts(fact(stale)), UNEXPOSED)  # type: ignore[arg-type]
    assert {r.status for r in report.results if r.rule.id == "CTM-NUM-01"} == {"error"}
    assert any("is not within the last 365 days" in w for w in report.warnings)


def test_an_attestation_never_turns_a_fail_into_attested() -> None:
    state = live(account(numbers=(number("TPN1", eligible=False),)))
    report = report_of(with_facts(fact()), state)  # type: ignore[arg-type]
    assert {r.status for r in report.results if r.rule.id == "CTM-NUM-01"} == {"fail"}


def test_an_attestation_never_covers_numbers_that_were_not_read() -> None:
    # ``numbers=None``: the read failed this run (a 503, a timeout), which is not a fact
    # the API does not expose, so no one's word may turn it into a success.
    unread = live(account(numbers=None))
    report = report_of(with_facts(fact()), unread)  # type: ignore[arg-type]
    numbers = [r for r in report.results if r.rule.id == "CTM-NUM-01"]
    assert numbers and {(r.status, r.error_kind) for r in numbers} == {("error", "unread")}
    assert '[attestations.facts."CTM-NUM-01"] does not cover a failed read' in numbers[0].message
    assert report.summary()["attested"] == 0
    assert report.exit_code == 1


def test_an_attestation_never_covers_a_value_ctm_showed_but_hipaactl_does_not_recognise() -> None:
    shown = TrackingNumber("TPN1", "+15555550100", "Main line", Unrecognized("maybe"))
    report = report_of(with_facts(fact()), live(account(numbers=(shown,))))  # type: ignore[arg-type]
    (result,) = [r for r in report.results if r.rule.id == "CTM-NUM-01"]
    assert (result.status, result.error_kind) == ("error", "unrecognized")
    assert "hipaa_eligible is a value hipaactl does not recognise" in result.message
    assert "does not cover a value CTM returned" in result.message


def test_unexposed_and_unread_errors_are_told_apart_where_they_are_made() -> None:
    report = report_of(state=live(account(numbers=(number("TPN1", eligible=None),))))
    assert {r.error_kind for r in report.results if r.status == "error"} == {"unexposed"}
    assert {r.error_kind for r in report.results if r.status != "error"} == {None}
    unread = report_of(state=live(account(numbers=None)))
    assert {r.error_kind for r in unread.results if r.status == "error"} == {"unread"}


def test_an_attestation_naming_no_rule_warns() -> None:
    report = report_of(with_facts(fact(rule_id="CTM-NUM-1")), UNEXPOSED)  # type: ignore[arg-type]
    assert any('did you mean "CTM-NUM-01"' in w for w in report.warnings)


def test_a_clinic_whose_ctm_hides_number_eligibility_passes_with_a_dated_attestation(
    clinic: Path, cli: CliRunner
) -> None:
    seed_path = clinic / "sandbox" / "agency.json"
    seed = json.loads(seed_path.read_text(encoding="utf-8"))
    for account_state in seed["accounts"]:
        for item in account_state["numbers"]:
            del item["hipaa_eligible"]
    seed_path.write_text(json.dumps(seed), encoding="utf-8")
    before = json.loads(cli("check", "--format", "json").out)
    assert {r["status"] for r in before["results"] if r["rule_id"] == "CTM-NUM-01"} == {"error"}

    recently = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    config_path = clinic / "hipaa.toml"
    config_path.write_text(
        config_path.read_text(encoding="utf-8")
        + f'\n[attestations.facts."CTM-NUM-01"]\nconfirmed_on = {recently}\n'
        'by = "compliance@clinic.example"\n'
        'note = "Buy Numbers page: every number we use shows no asterisk"\n',
        encoding="utf-8",
    )
    result = cli("check", "--format", "json")
    after = json.loads(result.out)
    numbers = [r for r in after["results"] if r["rule_id"] == "CTM-NUM-01"]
    assert numbers and {r["status"] for r in numbers} == {"attested"}
    assert after["summary"]["attested"] == len(numbers)
    assert after["summary"]["error"] == 0
    # The example still breaks other rules on purpose: only NUM-01 changed.
    assert result.code == 3


def test_a_future_fact_attestation_is_a_config_error(clinic: Path, cli: CliRunner) -> None:
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    config_path = clinic / "hipaa.toml"
    config_path.write_text(
        config_path.read_text(encoding="utf-8")
        + f'\n[attestations.facts."CTM-NUM-01"]\nconfirmed_on = {tomorrow}\n'
        'by = "compliance@clinic.example"\nnote = "checked"\n',
        encoding="utf-8",
    )
    result = cli("validate")
    assert result.code == 1
    assert "attestations.facts.CTM-NUM-01.confirmed_on" in result.err
    assert "is in the future" in result.err


def test_validate_warns_about_an_attestation_naming_no_rule(clinic: Path, cli: CliRunner) -> None:
    config_path = clinic / "hipaa.toml"
    config_path.write_text(
        config_path.read_text(encoding="utf-8")
        + '\n[attestations.facts."CTM-NUM-1"]\nconfirmed_on = 2026-01-02\n'
        'by = "compliance@clinic.example"\nnote = "checked"\n',
        encoding="utf-8",
    )
    result = cli("validate")
    assert result.code == 0
    assert '[attestations.facts."CTM-NUM-1"] names no rule' in result.err
    assert 'did you mean "CTM-NUM-01"' in result.err


def test_a_plan_lists_an_attested_fact_as_no_could_not_read_action() -> None:
    world = with_facts(fact())
    scope = classify_accounts(world, UNEXPOSED.all_accounts)  # type: ignore[arg-type]
    unattested, _ = evaluate_read_only(config(), CURRENT, UNEXPOSED, scope, today=TODAY)
    attested, _ = evaluate_read_only(world, CURRENT, UNEXPOSED, scope, today=TODAY)  # type: ignore[arg-type]
    assert any(a.unread for a in unattested)
    assert not any(a.unread for a in attested)


def test_a_plan_reuses_the_attestations_the_gate_sorted() -> None:
    # The gate works the attestations out once (GateOutcome.facts); the plan's manual
    # actions apply those, not a second reading of the config.
    world = with_facts(fact())
    scope = classify_accounts(world, UNEXPOSED.all_accounts)  # type: ignore[arg-type]
    gate = evaluate_gate(world, CURRENT, today=TODAY)  # type: ignore[arg-type]
    assert set(gate.facts.current) == {"CTM-NUM-01"}
    manual, _ = evaluate_read_only(
        config(), CURRENT, UNEXPOSED, scope, today=TODAY, facts=gate.facts
    )
    assert not any(a.unread for a in manual)
    assert manual == evaluate_read_only(world, CURRENT, UNEXPOSED, scope, today=TODAY)[0]  # type: ignore[arg-type]
