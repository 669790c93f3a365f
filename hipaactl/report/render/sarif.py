"""The check report as SARIF 2.1.0 for GitHub code scanning. Pure: Report -> str.

Every rule of the loaded packs is a ``reportingDescriptor`` with help text (citations,
checklist source, remediation) and a numeric ``security-severity``. Every result that
did not pass is a SARIF result located in the config file at the line of the key that
declares the value (line 1 when no key does), relative to ``%SRCROOT%``. Waived results
carry a suppression, so code scanning shows them as dismissed, not open.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from hipaactl import __version__
from hipaactl.canonical import sha256_hex
from hipaactl.plan.planfile import pack_document
from hipaactl.policy.model import Rule, RuleResult, cited
from hipaactl.report.check import DISCLAIMER, Report, attestation_results
from hipaactl.report.escape import markdown_code, markdown_text
from hipaactl.report.render.json import render_json

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
# GitHub maps these to critical / high / medium / low.
SECURITY_SEVERITY = {"critical": "9.0", "high": "7.0", "medium": "5.0", "low": "3.0"}
FINGERPRINT_KEY = "hipaactlFinding/v1"
TOOL_NAME = "hipaactl"


def _level(rule: Rule) -> str:
    return "error" if rule.enforcement == "mandatory" else "warning"


def rule_name(rule: Rule) -> str:
    """``IdleUsersAreLoggedOutAfterAtMost15Minutes``: SARIF wants an identifier-like name."""
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", rule.title))


def _help_text(rule: Rule, pack_label: str) -> str:
    return "\n".join(
        [
            rule.title,
            f"HIPAA: {cited(rule)}",
            f"Checklist: {rule.source}",
            f"Remediation: {rule.remediation}",
            f"Enforcement: {rule.enforcement}, severity {rule.severity}; pack {pack_label}.",
        ]
    )


def _help_markdown(rule: Rule, pack_label: str) -> str:
    return "\n\n".join(
        [
            # Pack text is outside input: escaped as Markdown, as in the Markdown report.
            f"**{markdown_text(rule.title)}**",
            f"**HIPAA:** {markdown_text(cited(rule))}",
            f"**Checklist:** _{markdown_text(rule.source)}_",
            f"**Remediation:** {markdown_text(rule.remediation)}",
            f"**Enforcement:** {rule.enforcement}, severity {rule.severity}; "
            f"pack {markdown_code(pack_label)}.",
        ]
    )


def rule_descriptor(rule: Rule, pack_label: str) -> dict[str, Any]:
    """The SARIF ``reportingDescriptor`` of a rule: texts, help, default level and the
    security-severity GitHub code scanning sorts by.
    """
    return {
        "id": rule.id,
        "name": rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title}. Checklist: {rule.source}"},
        "help": {
            "text": _help_text(rule, pack_label),
            "markdown": _help_markdown(rule, pack_label),
        },
        "defaultConfiguration": {"level": _level(rule)},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "problem.severity": _level(rule),
            "precision": "very-high",
            "tags": ["security", "hipaa", rule.enforcement, rule.pack_id],
            "hipaa": list(rule.hipaa),
            "hipaa_type": rule.hipaa_type,
        },
    }


def artifact_location(uri: str) -> dict[str, str]:
    """Relative to ``%SRCROOT%`` (the checkout); an absolute path as a file URI."""
    path = PurePosixPath(uri)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(uri), "uriBaseId": SRCROOT}


def _result_level(result: RuleResult) -> str:
    if result.waived:
        return "note"
    if result.status == "error":
        return "error"  # unknown data fails the run (exit 1), whatever the rule
    return _level(result.rule)


def fingerprint(result: RuleResult) -> str:
    """Stable across runs and line moves: the rule and the resource it is about."""
    return sha256_hex(f"{result.rule.id}\n{result.address}")


def _suppression(report: Report, result: RuleResult) -> dict[str, str]:
    justification = report.waiver(result.rule.id)
    return {"kind": "external", "status": "accepted", "justification": justification}


def sarif_result(report: Report, result: RuleResult, rule_index: int) -> dict[str, Any]:
    """The SARIF ``result`` of one rule result, located at the config line of its key;
    a waived result carries a suppression.
    """
    location = report.location_of(result)
    document: dict[str, Any] = {
        "ruleId": result.rule.id,
        "ruleIndex": rule_index,
        "level": _result_level(result),
        "message": {"text": f"{result.address}: {result.message} ({result.status})"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(report.source_uri or report.config_uri),
                    "region": {"startLine": location.line},
                },
                "logicalLocations": [{"fullyQualifiedName": result.address, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(result)},
        "properties": {
            "status": result.status,
            "waived": result.waived,
            "address": result.address,
            "config_key": location.key,
        },
    }
    if result.waived:
        document["suppressions"] = [_suppression(report, result)]
    return document


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sarif_document(report: Report) -> dict[str, Any]:
    """The whole SARIF 2.1.0 log: one run with every rule and a result for each result
    that did not pass.
    """
    descriptors: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for pack in report.packs:
        for rule in pack.rules:
            index[rule.id] = len(descriptors)
            descriptors.append(rule_descriptor(rule, f"{pack.id} {pack.version}"))
    results = [
        sarif_result(report, r, index[r.rule.id])
        for r in report.results
        if r.status not in ("pass", "attested", "not_applicable")
    ]
    run = {
        "tool": {"driver": {"name": TOOL_NAME, "version": __version__, "rules": descriptors}},
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "endTimeUtc": _utc(report.evaluated_at),
            }
        ],
        "results": results,
        "properties": {
            "packs": [pack_document(p) for p in report.packs],
            "config_sha256": report.config_sha256,
            "summary": report.summary(),
            "attestations": [
                {
                    "rule_id": r.rule.id,
                    "address": r.address,
                    "status": r.status,
                    "evidence": r.message,
                }
                for r in attestation_results(report)
            ],
            "conclusion": report.conclusion,
            "disclaimer": DISCLAIMER,
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report) -> str:
    """The report as a SARIF 2.1.0 JSON log (sarif_document), for code scanning uploads."""
    return render_json(sarif_document(report))
