"""The check report as text: header with pack digests, failures grouped by rule,
sections in a fixed order, the inventory, the summary, and the disclaimer last."""

from __future__ import annotations

from hipaactl.report.check import ALL_PASSED, DISCLAIMER, SECTION_TITLES
from hipaactl.report.render.text import render_report

from .builders import CURRENT, clean_report, mixed_report


def test_header_names_each_pack_with_version_and_digest() -> None:
    text = render_report(mixed_report())
    pack = CURRENT[0]
    assert f"pack:   {pack.id} {pack.version} (sha256 {pack.sha256})" in text
    assert "config: clinic/hipaa.toml (sha256 " + "c" * 64 + ")" in text
    assert "evaluated at 2026-06-01T12:00:00+00:00" in text


def test_sections_come_in_order_of_urgency() -> None:
    text = render_report(mixed_report())
    # The mixed report has every kind of result but attested (tests/report/test_attested.py).
    names = [name for name in SECTION_TITLES if name != "attested"]
    positions = [text.index(f"{SECTION_TITLES[name]}:") for name in names]
    assert positions == sorted(positions)
    assert text.index("Passed (") > positions[-1]


def test_each_failure_shows_address_message_citation_and_remediation() -> None:
    text = render_report(mixed_report())
    block = text[text.index("  CTM-SEC-01 (mandatory, high)") :]
    lines = block.splitlines()[:4]
    assert lines[1] == "      agency.security: idle_timeout_minutes is 60 (must be <= 15)"
    assert lines[2] == "      hipaa: 45 CFR 164.312(a)(2)(iii) (addressable)"
    assert lines[3].startswith("      remediation: Agency Settings > Security")


def test_waived_results_name_the_override() -> None:
    text = render_report(mixed_report())
    assert (
        "waived by [policy.overrides]: manual redaction after each case "
        "(approved by privacy-officer@clinic.example, expires 2026-12-31)"
    ) in text


def test_scope_and_users_are_listed() -> None:
    text = render_report(mixed_report())
    assert "Scope: 1 managed, 0 excluded, 1 unclassified account(s)." in text
    assert "  unclassified 2000 (Unknown clinic): neither managed nor excluded" in text
    assert "  account[1001] dr.lee@clinic.example admin active" in text


def test_summary_result_and_disclaimer_end_the_report() -> None:
    lines = render_report(mixed_report()).splitlines()
    assert lines[-3] == "Summary: 15 pass, 4 fail, 1 error, 1 manual, 0 not_applicable, 1 waived."
    assert lines[-2] == (
        "Result: 1 check could not be evaluated (error); "
        "3 mandatory checks failed or need an attestation."
    )
    assert lines[-1] == DISCLAIMER


def test_a_clean_report_says_all_mandatory_checks_passed_never_compliant() -> None:
    text = render_report(clean_report())
    assert f"Result: {ALL_PASSED}." in text
    assert "compliant" not in text.lower().replace("compliance", "")
    assert "Failed" not in text
