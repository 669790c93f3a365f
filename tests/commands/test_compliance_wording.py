"""What a compliance officer reads (issue 16 item 4), through the real CLI on a copy of
examples/clinic: not_applicable is its own status in every format, "required" and
"addressable" follow only Security Rule citations, the BAA passes only for CTM and shows
its evidence, PHI names compare case-insensitively, JUnit is red exactly when check
exits non-zero, and policies list shows citations and the config's own packs."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from hipaactl.report.escape import markdown_text
from tests.commands.test_check import (  # noqa: F401  (clinic is a fixture)
    EXAMPLE,
    check_json,
    clinic,
    edit_config,
    fix_seed,
    run,
)

FORMATS = ("text", "json", "markdown", "sarif", "junit")
# A Privacy Rule (164.5xx) citation followed by a Security Rule label.
PRIVACY_LABELLED = re.compile(r"164\.5\d\d(\([0-9a-z]+\))*\s*\((required|addressable)\)")


def report(capsys: pytest.CaptureFixture[str], report_format: str) -> tuple[int, str]:
    code = run("check", "--format", report_format)
    return code, capsys.readouterr().out


def baa_result(document: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in document["results"] if r["address"] == "attestation.baa")


@pytest.fixture
def applied(clinic: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    assert run("apply", "--auto-approve") == 0
    capsys.readouterr()
    return clinic


# -- not_applicable --------------------------------------------------------------------


def test_not_applicable_is_its_own_status_and_count_in_every_format(
    applied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # After apply, account 1002 transcribes in no profile: the transcription rule does
    # not apply to it, and that is never a pass.
    _, document = check_json(capsys)
    skipped = [r for r in document["results"] if r["status"] == "not_applicable"]
    assert ("CTM-TRN-01", "account[1002].settings") in {
        (r["rule_id"], r["address"]) for r in skipped
    }
    count = document["summary"]["not_applicable"]
    assert count == len(skipped) > 0
    assert sum(document["summary"].values()) == len(document["results"])

    _, text = report(capsys, "text")
    assert f"{count} not_applicable" in text and f"Not applicable ({count};" in text
    _, markdown = report(capsys, "markdown")
    assert "| pass | fail | error | manual | not_applicable | waived |" in markdown
    assert f"Not applicable: {count} check(s)" in markdown
    _, sarif = report(capsys, "sarif")
    properties = json.loads(sarif)["runs"][0]["properties"]
    assert properties["summary"]["not_applicable"] == count
    assert all(
        r["properties"]["status"] != "not_applicable"
        for r in json.loads(sarif)["runs"][0]["results"]
    )
    _, junit = report(capsys, "junit")
    cases = {(c.get("classname"), c.get("name")): c for c in ET.fromstring(junit).iter("testcase")}
    case = cases[("CTM-TRN-01", "account[1002].settings")]
    assert [child.tag for child in case] == ["system-out"]  # a passed case
    assert (case.find("system-out").text or "").startswith("not applicable")  # type: ignore[union-attr]


# -- citations -------------------------------------------------------------------------


@pytest.mark.parametrize("report_format", FORMATS)
def test_required_and_addressable_follow_only_security_rule_citations(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    report_format: str,
) -> None:
    _, output = report(capsys, report_format)
    if report_format != "json":  # JSON lists citations as data, with no label at all
        assert "164.312(a)(2)(iii) (addressable)" in output
    assert PRIVACY_LABELLED.search(output) is None, PRIVACY_LABELLED.search(output)


def test_policies_list_and_show_cite_without_labelling_privacy_rule(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("policies", "list") == 0
    listing = capsys.readouterr().out
    assert "45 CFR 164.312(a)(2)(iii) (addressable)" in listing
    assert "45 CFR 164.502(b), 45 CFR 164.514(d)" in listing
    assert PRIVACY_LABELLED.search(listing) is None
    assert run("policies", "show", "CTM-TRN-01") == 0
    assert PRIVACY_LABELLED.search(capsys.readouterr().out) is None


# -- the BAA ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counterparty", "status"),
    [
        ("CallTrackingMetrics", "pass"),
        ("call tracking-metrics", "pass"),
        ("CALLTRACKINGMETRICS.", "pass"),
        ("Acme Telecom", "manual"),
        ("CallTrackingMetrics Reseller", "manual"),
    ],
)
def test_baa_passes_only_for_calltrackingmetrics(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    counterparty: str,
    status: str,
) -> None:
    edit_config(clinic, 'counterparty = "CallTrackingMetrics"', f'counterparty = "{counterparty}"')
    _, document = check_json(capsys)
    result = baa_result(document)
    assert result["status"] == status, result["message"]
    if status == "manual":
        assert f"counterparty is {counterparty!r}, not CallTrackingMetrics" in result["message"]


def test_baa_effective_after_its_confirmation_is_not_a_pass(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (clinic / "hipaa.toml").read_text(encoding="utf-8")
    confirmed = re.search(r"confirmed_on = (\S+)", text).group(1)  # type: ignore[union-attr]
    edit_config(clinic, "effective_on = 2025-03-01", f"effective_on = {confirmed}")
    assert baa_result(check_json(capsys)[1])["status"] == "pass"  # equal dates are fine
    path = clinic / "hipaa.toml"
    text = path.read_text(encoding="utf-8")
    # confirmed the day before it took effect
    earlier = re.sub(
        r"(\d{4}-\d{2}-)(\d{2})",
        lambda m: m.group(1) + f"{int(m.group(2)) - 1:02d}" if int(m.group(2)) > 1 else m.group(0),
        confirmed,
    )
    if earlier == confirmed:
        pytest.skip("confirmed_on falls on the first of a month")
    path.write_text(
        text.replace(f"confirmed_on = {confirmed}\nby", f"confirmed_on = {earlier}\nby", 1),
        encoding="utf-8",
    )
    result = baa_result(check_json(capsys)[1])
    assert result["status"] == "manual"
    assert "is after confirmed_on" in result["message"]


@pytest.mark.parametrize("report_format", FORMATS)
def test_every_report_shows_the_baa_evidence_and_document_digest(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    report_format: str,
) -> None:
    # Markdown escapes its punctuation and breaks @mentions: compare in its terms.
    shown = markdown_text if report_format == "markdown" else str
    _, without = report(capsys, report_format)
    assert shown("contracts/ctm-baa.pdf (file not found beside the config)") in without
    document = clinic / "contracts" / "ctm-baa.pdf"
    document.parent.mkdir()
    document.write_bytes(b"%PDF-1.4 signed BAA\n")
    digest = hashlib.sha256(document.read_bytes()).hexdigest()
    _, output = report(capsys, report_format)
    for fragment in (
        "counterparty 'CallTrackingMetrics'",
        "effective_on 2025-03-01",
        "by compliance@clinic.example",
        f"contracts/ctm-baa.pdf (sha256 {digest})",
    ):
        assert shown(fragment) in output, fragment


# -- PHI names -------------------------------------------------------------------------


def test_phi_field_names_compare_case_insensitively(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_path = clinic / "sandbox" / "agency.json"
    seed = json.loads(seed_path.read_text(encoding="utf-8"))
    notification = seed["accounts"][0]["notifications"][0]
    notification["fields"] = ["call_start", "Caller_Name", "CALLER_NUMBER"]
    seed_path.write_text(json.dumps(seed), encoding="utf-8")
    address = f'account[{seed["accounts"][0]["id"]}].notification["{notification["id"]}"]'
    _, document = check_json(capsys)
    phi = [r for r in document["results"] if r["address"] == address]
    assert phi and all(r["status"] == "fail" for r in phi), phi
    assert run("plan", "--json") == 0
    change = next(
        c for c in json.loads(capsys.readouterr().out)["changes"] if c["address"] == address
    )
    assert change["after"]["fields"] == ["call_start"]


# -- JUnit: CI red exactly when check exits non-zero --------------------------------------


def junit_is_red(xml: str) -> bool:
    root = ET.fromstring(xml)
    return int(root.get("failures", "0")) + int(root.get("errors", "0")) > 0


@pytest.mark.parametrize(
    "scenario", ["as seeded", "applied", "applied and fixed", "advisory only", "waived"]
)
def test_junit_is_red_exactly_when_check_exits_non_zero(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    scenario: str,
) -> None:
    if scenario not in ("as seeded", "applied"):
        fix_seed(clinic)
    if scenario != "as seeded":
        assert run("apply", "--auto-approve") == 0
    if scenario == "advisory only":
        # Redaction is advisory: off fails it, a warning that must not turn CI red.
        edit_config(clinic, 'redaction = "30_days"', 'redaction = "off"')
        assert run("apply", "--auto-approve", "--force") == 0
    if scenario == "waived":
        # A mandatory failure under an override is waived: reported, never red.
        edit_config(clinic, 'counterparty = "CallTrackingMetrics"', 'counterparty = "Acme"')
        (clinic / "hipaa.toml").write_text(
            (clinic / "hipaa.toml").read_text(encoding="utf-8")
            + '\n[policy.overrides."CTM-BAA-01"]\nenforcement = "advisory"\n'
            'reason = "renewal in review"\napproved_by = "privacy@clinic.example"\n'
            "expires_on = 2099-12-31\n",
            encoding="utf-8",
        )
    capsys.readouterr()
    code, xml = report(capsys, "junit")
    assert code == (3 if scenario in ("as seeded", "applied") else 0), scenario
    assert junit_is_red(xml) == (code != 0), (scenario, code)
    if scenario == "waived":
        assert code == 0
        cases = {
            (c.get("classname"), c.get("name")): c for c in ET.fromstring(xml).iter("testcase")
        }
        skipped = cases[("CTM-BAA-01", "attestation.baa")].find("skipped")
        assert skipped is not None and "renewal in review" in (skipped.get("message") or "")


def test_advisory_failure_is_skipped_with_its_reason(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, xml = report(capsys, "junit")
    cases = {(c.get("classname"), c.get("name")): c for c in ET.fromstring(xml).iter("testcase")}
    skipped = cases[("CTM-RED-01", "account[1001].settings")].find("skipped")
    assert skipped is not None and (skipped.get("message") or "").startswith("advisory: ")


# -- packs -----------------------------------------------------------------------------

CUSTOM_PACK = """\
[pack]
id = "{id}"
version = "1.0.0"
title = "Clinic house rules"

[[rule]]
id = "HOUSE-01"
title = "Idle logout within 10 minutes"
hipaa = ["45 CFR 164.312(a)(2)(iii)"]
hipaa_type = "addressable"
source = "House rule"
severity = "medium"
enforcement = "advisory"
resource = "agency.security"
check = {{ field = "idle_timeout_minutes", op = "<=", value = 10 }}
remediation = "Set idle logout to 10 minutes."
"""


def test_policies_list_shows_the_custom_packs_of_the_config(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    (clinic / "house.toml").write_text(CUSTOM_PACK.format(id="house-rules"), encoding="utf-8")
    edit_config(
        clinic, 'policies = ["ctm-hipaa-current"]', 'policies = ["ctm-hipaa-current", "house.toml"]'
    )
    assert run("policies", "list") == 0
    listing = capsys.readouterr().out
    assert "house-rules 1.0.0: Clinic house rules (1 rules; house.toml)" in listing
    assert "ctm-hipaa-current" in listing and "built-in" in listing
    assert run("policies", "list", "--json") == 0
    packs = json.loads(capsys.readouterr().out)["packs"]
    assert {p["id"]: p["source"] for p in packs}["house-rules"] == "house.toml"
    assert run("policies", "show", "HOUSE-01") == 0
    assert "Clinic" not in capsys.readouterr().err


def test_a_custom_pack_may_not_reuse_a_builtin_id(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    (clinic / "house.toml").write_text(CUSTOM_PACK.format(id="ctm-hipaa-2018"), encoding="utf-8")
    edit_config(
        clinic, 'policies = ["ctm-hipaa-current"]', 'policies = ["ctm-hipaa-current", "house.toml"]'
    )
    assert run("validate") == 1
    assert "id 'ctm-hipaa-2018' is the id of a built-in pack" in capsys.readouterr().err


def test_a_pack_listed_twice_is_one_clear_error(
    clinic: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    edit_config(
        clinic,
        'policies = ["ctm-hipaa-current"]',
        'policies = ["ctm-hipaa-current", "ctm-hipaa-current"]',
    )
    assert run("validate") == 1
    err = capsys.readouterr().err
    assert "policies[#1]: pack 'ctm-hipaa-current' is listed twice" in err
    assert "1 error in configuration" in err and "unique" not in err
