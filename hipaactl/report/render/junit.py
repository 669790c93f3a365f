"""The check report as JUnit XML for CI test dashboards. Pure: Report -> str.

One ``<testsuite>`` per pack and one ``<testcase>`` per rule x resource (SPEC section
7): a mandatory ``fail`` is a ``<failure>``, ``error`` an ``<error>``; an advisory
``fail`` and a waived result are ``<skipped>`` with an "advisory" or "waived" message;
``pass`` and ``not_applicable`` are passed cases. CI must be red exactly when ``check``
exits non-zero, and a mandatory ``manual`` result makes ``check`` exit 3, so it is a
``<failure>`` too (SPEC lists manual under ``<skipped>``, which would break that
equivalence); an advisory ``manual`` is ``<skipped>``.

Text from servers and packs goes through ``escape.xml_text``: ElementTree escapes
``&<>"`` itself but would write the control characters XML 1.0 forbids.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Literal

from hipaactl.policy.model import Pack, RuleResult, cited
from hipaactl.report.check import DISCLAIMER, Report, is_mandatory_failure
from hipaactl.report.escape import xml_text

SUITES_NAME = "hipaactl check"


def _detail(result: RuleResult) -> str:
    rule = result.rule
    return xml_text(
        "\n".join(
            [
                f"{result.address}: {result.message}",
                f"rule: {rule.id} {rule.title} ({rule.enforcement}, {rule.severity})",
                f"hipaa: {cited(rule)}",
                f"remediation: {rule.remediation}",
            ]
        )
    )


Outcome = Literal["passed", "failure", "error", "skipped"]


def outcome(result: RuleResult) -> Outcome:
    """The JUnit element of a result: red (failure, error) exactly for what makes
    ``check`` exit non-zero."""
    if result.status == "error":
        return "error"
    if is_mandatory_failure(result):
        return "failure"
    if result.status in ("fail", "manual"):
        return "skipped"  # advisory, or waived
    return "passed"


def _skip_reason(report: Report, result: RuleResult) -> str:
    if result.waived:
        return f"{report.waiver(result.rule.id)}: {result.message}"
    return f"advisory: {result.message}"


def _outcome(case: ET.Element, report: Report, result: RuleResult) -> None:
    kind = outcome(result)
    if kind == "passed":
        # Why it did not apply, or the evidence of an attested fact.
        if result.status in ("not_applicable", "attested") or result.rule.resource.startswith(
            "attestation."
        ):
            ET.SubElement(case, "system-out").text = xml_text(result.message)
        return
    if kind == "skipped":
        ET.SubElement(case, "skipped", message=xml_text(_skip_reason(report, result)))
        return
    label = "manual" if result.status == "manual" else result.rule.enforcement
    element = ET.SubElement(case, kind, message=xml_text(result.message), type=label)
    element.text = _detail(result)


def _counts(results: Sequence[RuleResult]) -> dict[str, str]:
    kinds = [outcome(r) for r in results]
    return {
        "tests": str(len(kinds)),
        "failures": str(kinds.count("failure")),
        "errors": str(kinds.count("error")),
        "skipped": str(kinds.count("skipped")),
        "time": "0",
    }


def _properties(suite: ET.Element, report: Report, pack: Pack) -> None:
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("pack.id", pack.id),
        ("pack.version", pack.version),
        ("pack.sha256", pack.sha256),
        ("config", report.config_uri),
        ("config_sha256", report.config_sha256),
        ("conclusion", report.conclusion),
        ("disclaimer", DISCLAIMER),
    ):
        ET.SubElement(properties, "property", name=name, value=xml_text(value))


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def render_junit(report: Report) -> str:
    """The report as JUnit XML: one testsuite per pack, one testcase per rule result."""
    root = ET.Element("testsuites", {"name": SUITES_NAME, **_counts(report.results)})
    for pack in report.packs:
        results = [r for r in report.results if r.rule.pack_id == pack.id]
        attributes = {
            "name": pack.id,
            "timestamp": _timestamp(report.evaluated_at),
            **_counts(results),
        }
        suite = ET.SubElement(root, "testsuite", attributes)
        _properties(suite, report, pack)
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=result.rule.id,
                name=xml_text(result.address),
                time="0",
            )
            _outcome(case, report, result)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n<!-- {DISCLAIMER} -->\n'
