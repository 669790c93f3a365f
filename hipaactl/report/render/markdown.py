"""The check report as Markdown for a pull-request comment. Pure: Report -> str.

Failures come first with their citations and remediation; what passed is folded away in
a ``<details>`` block so the comment stays short. Live values (names, messages) and
pack text are escaped (``report.escape``) so that they cannot break a table, inject HTML
or mention anyone.
"""

from __future__ import annotations

from hipaactl.policy.model import cited
from hipaactl.report.check import (
    DISCLAIMER,
    SECTION_TITLES,
    Report,
    RuleGroup,
    attestation_results,
    not_applicable_groups,
    passing_groups,
    report_sections,
)
from hipaactl.report.escape import markdown_code, markdown_text

# The one Markdown escaping (report.escape), under the short names this renderer uses.
text = markdown_text
code = markdown_code


def _heading(report: Report) -> list[str]:
    mark = "✅" if report.exit_code == 0 else "❌"
    packs = ", ".join(
        f"{code(p.id)} {text(p.version)} (sha256 {code(p.sha256)})" for p in report.packs
    )
    return [
        f"## {mark} hipaactl check: {text(report.conclusion)}",
        "",
        f"Packs: {packs}  ",
        f"Config: {code(report.config_uri)} (sha256 {code(report.config_sha256)})  ",
        f"Evaluated at {report.evaluated_at.isoformat(timespec='seconds')}",
    ]


def _summary_table(report: Report) -> list[str]:
    summary = report.shown_summary()
    return [
        "| " + " | ".join(summary) + " |",
        "|" + "---:|" * len(summary),
        "| " + " | ".join(str(count) for count in summary.values()) + " |",
    ]


def _scope(report: Report) -> list[str]:
    scope = report.scope
    line = (
        f"**Scope:** {len(scope.managed)} managed, {len(scope.excluded)} excluded, "
        f"{len(scope.unclassified)} unclassified account(s)."
    )
    lines = [line]
    if scope.excluded or scope.unclassified:
        lines.append("")
    lines.extend(
        f"- excluded {e.info.id} ({text(e.info.name)}): {text(e.reason)}" for e in scope.excluded
    )
    lines.extend(
        f"- **unclassified** {info.id} ({text(info.name)}): neither managed nor excluded"
        for info in scope.unclassified
    )
    return lines


def _group(group: RuleGroup, note: str | None) -> list[str]:
    rule = group.rule
    waiver = [f"**Waiver:** {text(note)}", ""] if note is not None else []
    return [
        f"#### {text(rule.id)}: {text(rule.title)}",
        "",
        f"{rule.enforcement} · {rule.severity} · {text(cited(rule))}",
        "",
        "| resource | finding |",
        "|---|---|",
        *(f"| {code(r.address)} | {text(r.message)} |" for r in group.results),
        "",
        *waiver,
        f"**Remediation:** {text(rule.remediation)}",
        "",
        f"Checklist: _{text(rule.source)}_",
    ]


def _passing(report: Report) -> list[str]:
    groups = passing_groups(report)
    count = sum(len(g.results) for g in groups)
    return [
        "<details>",
        f"<summary>Passed: {count} check(s) of {len(groups)} rule(s)</summary>",
        "",
        "| rule | resources | title |",
        "|---|---:|---|",
        *(f"| {text(g.rule.id)} | {len(g.results)} | {text(g.rule.title)} |" for g in groups),
        "",
        "</details>",
    ]


def _attestations(report: Report) -> list[str]:
    return [
        "**Attestations** (facts a person confirmed; their evidence):",
        "",
        "| rule | status | attestation | evidence |",
        "|---|---|---|---|",
        *(
            f"| {text(r.rule.id)} | {r.status} | {code(r.address)} | {text(r.message)} |"
            for r in attestation_results(report)
        ),
    ]


def _not_applicable(report: Report) -> list[str]:
    groups = not_applicable_groups(report)
    count = sum(len(g.results) for g in groups)
    return [
        "<details>",
        f"<summary>Not applicable: {count} check(s) of {len(groups)} rule(s)</summary>",
        "",
        "| rule | resources | title |",
        "|---|---:|---|",
        *(f"| {text(g.rule.id)} | {len(g.results)} | {text(g.rule.title)} |" for g in groups),
        "",
        "</details>",
    ]


def _users(report: Report) -> list[str]:
    accounts = len({u.account for u in report.users})
    return [
        f"Users (access inventory): {len(report.users)} user(s) in {accounts} account(s); "
        "the JSON report lists them."
    ]


def render_markdown(report: Report) -> str:
    """The report as Markdown: summary, scope, one section per result kind, passing rules,
    the users inventory and the disclaimer.
    """
    blocks = [_heading(report), _summary_table(report), _scope(report)]
    for name, groups in report_sections(report):
        lines = [f"### {text(SECTION_TITLES[name])}"]
        for group in groups:
            note = report.waiver(group.rule.id) if name == "waived" else None
            lines.extend(["", *_group(group, note)])
        blocks.append(lines)
    blocks.extend(
        [
            _attestations(report),
            _passing(report),
            _not_applicable(report),
            _users(report),
            ["---", f"_{text(DISCLAIMER)}_"],
        ]
    )
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"
