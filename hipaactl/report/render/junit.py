"""The check report as JUnit XML for CI test dashboards. Pure: Report -> str.

One ``<testsuite>`` per pack and one ``<testcase>`` per rule x resource: ``fail`` is a
``<failure>``, ``error`` an ``<error>``, ``manual`` and waived results are ``<skipped>``
(waived ones say so). So ``failures`` equals the report's ``summary.fail``, ``errors``
its ``summary.error``, and ``skipped`` its ``manual`` plus ``waived``.

Text from servers and packs goes through ``escape.xml_text``: ElementTree escapes
``&<>"`` itself but would write the control characters XML 1.0 forbids.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from hipaactl.policy.model import Pack, RuleResult
from hipaactl.report.check import DISCLAIMER, Report, bucket
from hipaactl.report.escape import xml_text

SUITES_NAME = "hipaactl check"


def _detail(result: RuleResult) -> str:
    rule = result.rule
    return xml_text(
        "\n".join(
            [
                f"{result.address}: {result.message}",
                f"rule: {rule.id} {rule.title} ({rule.enforcement}, {rule.severity})",
                f"hipaa: {', '.join(rule.hipaa)} ({rule.hipaa_type})",
                f"remediation: {rule.remediation}",
            ]
        )
    )


def _outcome(case: ET.Element, result: RuleResult) -> None:
    kind = bucket(result)
    if kind in ("pass", "attested"):
        return
    if kind == "waived":
        ET.SubElement(
            case, "skipped", message=xml_text(f"waived by [policy.overrides]: {result.message}")
        )
        return
    if kind == "manual":
        ET.SubElement(case, "skipped", message=xml_text(f"manual: {result.message}"))
        return
    tag = "failure" if kind == "fail" else "error"
    element = ET.SubElement(
        case, tag, message=xml_text(result.message), type=result.rule.enforcement
    )
    element.text = _detail(result)


def _counts(results: Sequence[RuleResult]) -> dict[str, str]:
    kinds = [bucket(r) for r in results]
    return {
        "tests": str(len(kinds)),
        "failures": str(kinds.count("fail")),
        "errors": str(kinds.count("error")),
        "skipped": str(kinds.count("manual") + kinds.count("waived")),
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
            _outcome(case, result)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n<!-- {DISCLAIMER} -->\n'
