"""The check report as JUnit XML: it parses, one test case per rule x resource, and
its counts match the JSON report's summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hipaactl.report.check import DISCLAIMER, report_document
from hipaactl.report.render.junit import render_junit

from .builders import CURRENT, mixed_report


def test_counts_match_the_json_summary() -> None:
    report = mixed_report()
    root = ET.fromstring(render_junit(report))
    summary = report_document(report)["summary"]
    mandatory = len(report.mandatory_failures)  # fail or manual, mandatory, not waived
    expected = {
        "tests": sum(summary.values()),
        "failures": mandatory,
        "errors": summary["error"],
        # advisory failures and waived results; pass and not_applicable are passed cases
        "skipped": summary["fail"] + summary["manual"] + summary["waived"] - mandatory,
    }
    for element in (root, root.find("testsuite")):
        assert element is not None
        assert {name: int(element.get(name, "-1")) for name in expected} == expected
    assert len(root.findall("testsuite/testcase")) == expected["tests"]


def test_each_status_has_its_element() -> None:
    root = ET.fromstring(render_junit(mixed_report()))
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    failure = cases[("CTM-SEC-01", "agency.security")].find("failure")
    assert failure is not None
    assert failure.get("message") == "idle_timeout_minutes is 60 (must be <= 15)"
    assert failure.get("type") == "mandatory"
    assert "remediation: Agency Settings > Security" in (failure.text or "")
    error = cases[("CTM-NUM-01", 'account[1001].number["TPN1"]')].find("error")
    assert error is not None
    # A mandatory manual result makes check exit 3, so CI must be red: a failure.
    manual = cases[("CTM-BAA-01", "attestation.baa")].find("failure")
    assert manual is not None and manual.get("type") == "manual"
    waived = cases[("CTM-RED-01", "account[1001].settings")].find("skipped")
    assert waived is not None and (waived.get("message") or "").startswith(
        "waived by [policy.overrides]: "
    )
    assert len(cases[("CTM-SEC-02", "agency.security")]) == 0  # a pass has no child


def test_suite_properties_carry_pack_digest_and_the_disclaimer_ends_the_file() -> None:
    xml = render_junit(mixed_report())
    root = ET.fromstring(xml)
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    pack = CURRENT[0]
    assert properties["pack.id"] == pack.id
    assert properties["pack.version"] == pack.version
    assert properties["pack.sha256"] == pack.sha256
    assert properties["disclaimer"] == DISCLAIMER
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    assert xml.endswith(f"<!-- {DISCLAIMER} -->\n")
    assert root.find("testsuite").get("timestamp") == "2026-06-01T12:00:00"  # type: ignore[union-attr]


def test_output_is_deterministic() -> None:
    assert render_junit(mixed_report()) == render_junit(mixed_report())
