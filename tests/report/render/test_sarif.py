"""The check report as SARIF 2.1.0: valid against the official schema, rules with help
and security-severity, results located at the declaring key's line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hipaactl.report.check import DISCLAIMER
from hipaactl.report.render.sarif import (
    FINGERPRINT_KEY,
    SECURITY_SEVERITY,
    artifact_location,
    render_sarif,
    sarif_document,
)

from .builders import CURRENT, clean_report, mixed_report

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "sarif-schema-2.1.0.json").read_text("utf-8")
)


def run_of(document: dict[str, Any]) -> dict[str, Any]:
    (run,) = document["runs"]
    assert isinstance(run, dict)
    return run


@pytest.mark.parametrize("report", [mixed_report(), clean_report()], ids=["mixed", "clean"])
def test_validates_against_the_sarif_schema(report: Any) -> None:
    document = json.loads(render_sarif(report))
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    assert document["version"] == "2.1.0"


def test_every_rule_of_the_packs_is_described_with_help_and_severity() -> None:
    run = run_of(sarif_document(mixed_report()))
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.id for rule in CURRENT[0].rules]
    by_id = {r["id"]: r for r in rules}
    sec = by_id["CTM-SEC-01"]
    assert sec["name"] == "IdleUsersAreLoggedOutAfterAtMost15Minutes"
    assert sec["shortDescription"]["text"] == "Idle users are logged out after at most 15 minutes"
    assert "45 CFR 164.312(a)(2)(iii)" in sec["help"]["text"]
    assert "**Remediation:** Agency Settings &gt; Security" in sec["help"]["markdown"]
    assert sec["defaultConfiguration"]["level"] == "error"
    assert by_id["CTM-CID-01"]["defaultConfiguration"]["level"] == "warning"
    for rule in CURRENT[0].rules:
        properties = by_id[rule.id]["properties"]
        assert properties["security-severity"] == SECURITY_SEVERITY[rule.severity]
        assert float(properties["security-severity"]) > 0
        assert "hipaa" in properties["tags"]


def results_by_key(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    run = run_of(document)
    return {
        (r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]): r
        for r in run["results"]
    }


def test_only_results_that_did_not_pass_are_listed_with_levels() -> None:
    report = mixed_report()
    results = results_by_key(sarif_document(report))
    assert len(results) == sum(1 for r in report.results if r.status != "pass")
    assert results[("CTM-SEC-01", "agency.security")]["level"] == "error"
    assert results[("CTM-BAA-01", "attestation.baa")]["level"] == "error"  # mandatory manual
    assert results[("CTM-CID-01", 'account[1001].call_settings["CS1"]')]["level"] == "warning"
    assert results[("CTM-NUM-01", 'account[1001].number["TPN1"]')]["level"] == "error"


def test_waived_results_are_suppressed_notes() -> None:
    result = results_by_key(sarif_document(mixed_report()))[
        ("CTM-RED-01", "account[1001].settings")
    ]
    assert result["level"] == "note"
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert "approved by privacy-officer@clinic.example" in suppression["justification"]


def test_results_point_at_the_declaring_key_line_in_the_config() -> None:
    results = results_by_key(sarif_document(mixed_report()))

    def where(key: tuple[str, str]) -> tuple[dict[str, str], int]:
        physical = results[key]["locations"][0]["physicalLocation"]
        return physical["artifactLocation"], physical["region"]["startLine"]

    in_srcroot = {"uri": "clinic/hipaa.toml", "uriBaseId": "%SRCROOT%"}
    assert where(("CTM-SEC-01", "agency.security")) == (in_srcroot, 11)
    assert where(("CTM-CID-01", 'account[1001].call_settings["CS1"]')) == (in_srcroot, 21)
    assert where(("CTM-BAA-01", "attestation.baa")) == (in_srcroot, 1)  # nothing declares it


def test_a_config_outside_the_working_directory_is_a_file_uri() -> None:
    assert artifact_location("/etc/hipaactl/hipaa.toml") == {
        "uri": "file:///etc/hipaactl/hipaa.toml"
    }
    assert artifact_location("my configs/hipaa.toml") == {
        "uri": "my%20configs/hipaa.toml",
        "uriBaseId": "%SRCROOT%",
    }


def test_fingerprints_are_stable_and_unique() -> None:
    first = results_by_key(sarif_document(mixed_report()))
    second = results_by_key(sarif_document(mixed_report()))
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in first.values()]
    assert len(set(prints)) == len(prints)
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in second.values()]


def test_run_properties_carry_packs_summary_and_disclaimer() -> None:
    report = mixed_report()
    properties = run_of(sarif_document(report))["properties"]
    pack = CURRENT[0]
    assert properties["packs"] == [{"id": pack.id, "version": pack.version, "sha256": pack.sha256}]
    assert properties["summary"] == report.summary()
    assert properties["disclaimer"] == DISCLAIMER
    invocation = run_of(sarif_document(report))["invocations"][0]
    assert invocation == {"executionSuccessful": False, "endTimeUtc": "2026-06-01T12:00:00Z"}
