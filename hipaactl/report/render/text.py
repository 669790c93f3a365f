"""Terraform-like text for plans, gate results and apply reports. Pure: values -> str."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hipaactl.apply.executor import ApplyReport, ChangeResult
from hipaactl.model.changes import Change, ManualAction
from hipaactl.model.targets import blocked_by_targets
from hipaactl.plan.planfile import Plan
from hipaactl.policy.model import Pack, Rule, RuleResult, cited
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

NO_CHANGES = "No changes. Live state matches the configuration."
_SYMBOLS = {"create": "+", "update": "~", "delete": "-"}


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _field_lines(change: Change) -> list[str]:
    before: Mapping[str, Any] = change.before or {}
    after: Mapping[str, Any] = change.after or {}
    lines = []
    for key in sorted(set(before) | set(after)):
        if change.action == "create":
            lines.append(f"      {key}: {_value(after[key])}")
        elif change.action == "delete":
            lines.append(f"      {key}: {_value(before[key])}")
        else:
            lines.append(f"      {key}: {_value(before.get(key))} -> {_value(after.get(key))}")
    return lines


def render_change(change: Change, targets: Sequence[str] = ()) -> list[str]:
    """The lines of one change in the plan: action and address, fields, reasons,
    dependencies (marked when ``targets`` leaves one out) and ``!! unsafe`` reasons.
    """
    lines = [f"  {_SYMBOLS[change.action]} {change.action} {change.address}"]
    lines.extend(_field_lines(change))
    lines.extend(f"      # {reason}" for reason in change.reasons)
    outside = {dep for _, dep in blocked_by_targets((change,), targets)} if targets else set()
    lines.extend(
        f"      (after {dep}: outside --target, apply will skip this change)"
        if dep in outside
        else f"      (after {dep})"
        for dep in change.depends_on
    )
    lines.extend(f"  !! unsafe: {reason}" for reason in change.unsafe)
    return lines


def render_manual_action(action: ManualAction) -> list[str]:
    """The lines of one manual action: address, rule ids, message and remediation."""
    lines = [f"  ! manual {action.address} [{', '.join(action.rule_ids)}]"]
    lines.append(f"      {action.message}")
    lines.extend(f"      remediation: {text}" for text in action.remediation)
    return lines


def summary_line(plan: Plan) -> str:
    """``Plan: 1 to add, 4 to change, 0 to destroy, 2 manual.``, and how many facts
    could not be read when some could not (SPEC section 5)."""
    s = plan.summary()
    unread = f", {s['unread']} could not be read" if s["unread"] else ""
    return (
        f"Plan: {s['add']} to add, {s['change']} to change, {s['destroy']} to destroy, "
        f"{s['manual']} manual{unread}."
    )


def no_changes_line(plan: Plan) -> str:
    """``NO_CHANGES`` only when every needed value was read; otherwise says what is
    missing, so an unread fact never reads as "matches"."""
    if plan.all_read:
        return NO_CHANGES
    unread = plan.summary()["unread"]
    return (
        f"No changes planned, but {unread} fact{'s' if unread != 1 else ''} could not be "
        "read (see the manual actions): live state may not match the configuration."
    )


def render_plan(plan: Plan) -> str:
    """The plan as terminal text, in Terraform's shape: actions, manual actions, the unsafe
    note and the summary line (SPEC section 5).
    """
    lines: list[str] = []
    if plan.partial:
        lines.append(f"Partial plan: only {', '.join(plan.targets)} (--target).")
        lines.append("")
    if plan.changes:
        lines.append("hipaactl will perform the following actions:")
        lines.append("")
        for change in plan.changes:
            lines.extend(render_change(change, plan.targets))
            lines.append("")
    else:
        lines.append(no_changes_line(plan))
        lines.append("")
    if plan.manual_actions:
        lines.append("Manual actions (hipaactl cannot change these; a person must):")
        lines.append("")
        for action in plan.manual_actions:
            lines.extend(render_manual_action(action))
            lines.append("")
    if plan.unsafe:
        lines.append("This plan weakens security (!! unsafe); apply refuses it without --force.")
    lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"


def render_rule_result(result: RuleResult) -> list[str]:
    """The lines of one failed rule result: rule, enforcement (or waived), severity,
    address, message, title, HIPAA citation and remediation.
    """
    rule = result.rule
    label = "waived" if result.waived else rule.enforcement
    lines = [f"  {rule.id} ({label}, {rule.severity}) {result.address}: {result.message}"]
    lines.append(f"      {rule.title}")
    lines.append(f"      hipaa: {', '.join(rule.hipaa)}")
    lines.append(f"      remediation: {rule.remediation}")
    return lines


def render_gate_failures(results: Iterable[RuleResult], heading: str) -> str:
    """``heading`` then each result as rendered by ``render_rule_result``."""
    lines = [heading]
    for result in results:
        lines.extend(render_rule_result(result))
    return "\n".join(lines) + "\n"


_OUTCOME_WORDS = {
    "applied": "applied",
    "failed": "FAILED",
    "skipped": "skipped",
    "not_started": "not started",
    "unknown": "UNKNOWN",
}


def _result_line(result: ChangeResult) -> str:
    word = _OUTCOME_WORDS[result.outcome]
    reason = f": {result.reason}" if result.reason else ""
    return f"  {word:<11} {result.change.action} {result.change.address}{reason}"


def render_apply_report(report: ApplyReport) -> str:
    """One line per change with its outcome, then the count of each outcome and whether the
    apply completed, stopped incomplete or was interrupted (and then whether every change
    was applied all the same).
    """
    lines = ["Apply results:"]
    lines.extend(_result_line(r) for r in report.results)
    counts = ", ".join(
        f"{report.count(o)} {_OUTCOME_WORDS[o].lower()}"
        for o in ("applied", "failed", "skipped", "not_started", "unknown")
    )
    status = "Apply complete" if report.succeeded else "Apply incomplete"
    if report.interrupted:
        # An interrupt that let every in-flight change finish stopped nothing: say so,
        # not just "interrupted", or a complete apply reads as a partial one.
        total = len(report.results)
        everything = (
            f", but all {total} changes were applied"
            if total != 1
            else (", but its one change was applied")
        )
        status = "Apply interrupted" + (everything if report.succeeded else "")
    lines.append(f"{status}: {counts}.")
    return "\n".join(lines) + "\n"


def _audit_values(record: Mapping[str, Any]) -> str:
    before, after = record.get("before"), record.get("after")
    if before is None and after is None:
        return ""
    return f" {_value(before)} -> {_value(after)}"


def render_audit_records(records: Iterable[Mapping[str, Any]]) -> str:
    """One line per change log record (time, result, address, values, actor, error)."""
    lines = []
    for record in records:
        error = f" error: {record['error']}" if record.get("error") else ""
        lines.append(
            f"{record.get('time')} {record.get('result', '?'):<8} {record.get('address')}"
            f"{_audit_values(record)} by {record.get('actor')}{error}"
        )
    return "\n".join(lines) + ("\n" if lines else "The change log is empty.\n")


def render_pack_list(packs: Iterable[Pack]) -> str:
    """Each pack (built-in, or the file a config names) and its rules, each with its
    45 CFR citations."""
    lines = []
    for pack in packs:
        origin = "built-in" if pack.source_path.startswith("builtin:") else pack.source_path
        lines.append(f"{pack.id} {pack.version}: {pack.title} ({len(pack.rules)} rules; {origin})")
        for rule in pack.rules:
            lines.append(
                f"  {rule.id:<16} {rule.enforcement:<9} {rule.severity:<8} "
                f"{rule.resource:<30} {rule.title}"
            )
            lines.append(f"  {'':<16} {cited(rule)}")
        lines.append("")
    return "\n".join(lines)


def render_rule(rule: Rule) -> str:
    """One rule's id, pack, enforcement, HIPAA citation, resource, checklist source and
    remediation (``policies show``).
    """
    lines = [
        f"{rule.id}: {rule.title}",
        f"  pack:        {rule.pack_id}",
        f"  enforcement: {rule.enforcement} (severity {rule.severity})",
        f"  hipaa:       {cited(rule)}",
        f"  resource:    {rule.resource}",
        f"  checklist:   {rule.source}",
        f"  remediation: {rule.remediation}",
    ]
    return "\n".join(lines) + "\n"


# -- check reports -----------------------------------------------------------------


def _report_header(report: Report) -> list[str]:
    lines = ["hipaactl check: HIPAA checklist audit of live state"]
    lines.extend(f"  pack:   {p.id} {p.version} (sha256 {p.sha256})" for p in report.packs)
    lines.append(f"  config: {report.config_uri} (sha256 {report.config_sha256})")
    lines.append(f"  evaluated at {report.evaluated_at.isoformat(timespec='seconds')}")
    return lines


def _scope_lines(report: Report) -> list[str]:
    scope = report.scope
    lines = [
        f"Scope: {len(scope.managed)} managed, {len(scope.excluded)} excluded, "
        f"{len(scope.unclassified)} unclassified account(s)."
    ]
    if scope.managed:
        lines.append("  managed: " + ", ".join(str(info.id) for info in scope.managed))
    lines.extend(f"  excluded {e.info.id} ({e.info.name}): {e.reason}" for e in scope.excluded)
    lines.extend(
        f"  unclassified {info.id} ({info.name}): neither managed nor excluded"
        for info in scope.unclassified
    )
    return lines


def render_rule_group(group: RuleGroup, note: str | None = None) -> list[str]:
    """The lines of one rule and every address it applies to, with an optional note
    (the waiver).
    """
    rule = group.rule
    lines = [f"  {rule.id} ({rule.enforcement}, {rule.severity}) {rule.title}"]
    lines.extend(f"      {r.address}: {r.message}" for r in group.results)
    lines.append(f"      hipaa: {cited(rule)}")
    lines.append(f"      remediation: {rule.remediation}")
    if note is not None:
        lines.append(f"      {note}")
    return lines


def _passing_lines(report: Report) -> list[str]:
    groups = passing_groups(report)
    lines = [f"Passed ({sum(len(g.results) for g in groups)}):"]
    lines.extend(
        f"  {g.rule.id:<16} {len(g.results):>4} resource(s)  {g.rule.title}" for g in groups
    )
    return lines


def _attestation_lines(report: Report) -> list[str]:
    lines = ["Attestations (facts a person confirmed; their evidence):"]
    lines.extend(
        f"  {r.rule.id:<16} {r.status:<7} {r.address}: {r.message}"
        for r in attestation_results(report)
    )
    return lines


def _not_applicable_lines(report: Report) -> list[str]:
    groups = not_applicable_groups(report)
    lines = [
        f"Not applicable ({sum(len(g.results) for g in groups)}; their conditions do not hold):"
    ]
    lines.extend(
        f"  {g.rule.id:<16} {len(g.results):>4} resource(s)  {g.rule.title}" for g in groups
    )
    return lines


def _users_lines(report: Report) -> list[str]:
    lines = [f"Users (access inventory, {len(report.users)}):"]
    lines.extend(f"  account[{u.account}] {u.email} {u.role} {u.status}" for u in report.users)
    return lines


def _summary_line(report: Report) -> str:
    return (
        "Summary: " + ", ".join(f"{n} {name}" for name, n in report.shown_summary().items()) + "."
    )


def render_report(report: Report) -> str:
    """The check report as text: what failed first, grouped by rule, then what passed,
    the users inventory, the summary, and the disclaimer last."""
    blocks = [_report_header(report), _scope_lines(report)]
    for name, groups in report_sections(report):
        lines = [f"{SECTION_TITLES[name]}:"]
        for group in groups:
            note = report.waiver(group.rule.id) if name == "waived" else None
            lines.extend(render_rule_group(group, note))
        blocks.append(lines)
    blocks.append(_passing_lines(report))
    blocks.append(_not_applicable_lines(report))
    blocks.append(_attestation_lines(report))
    blocks.append(_users_lines(report))
    blocks.append([_summary_line(report), f"Result: {report.conclusion}.", DISCLAIMER])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"
