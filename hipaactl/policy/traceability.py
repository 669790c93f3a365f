"""The checklist traceability table (docs/traceability.md): every bullet of a checklist
edition and the rules that check it, generated from the packs' ``source`` quotes.

A rule quotes the bullet it comes from, so a bullet is traced to every rule whose
source contains the bullet's first sentence. Pure: packs and bullet texts in, Markdown
out; the bullets are read from the published checklists by the test that keeps the
document current.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hipaactl.policy.model import Pack, Rule, cited

ENFORCEMENT_MARKS = {"mandatory": "M", "advisory": "A"}
REGENERATE = "HIPAACTL_REGENERATE_DOCS=1 pytest tests/policy/test_traceability.py"


@dataclass(frozen=True)
class Trace:
    bullet: str
    rules: tuple[Rule, ...]


def collapse(text: str) -> str:
    """``text`` with every run of whitespace made one space, ends trimmed."""
    return " ".join(text.split())


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (up to ``.``, ``!`` or ``?`` and a space), collapsed."""
    return re.split(r"(?<=[.!?])\s+", collapse(text), maxsplit=1)[0]


def trace_bullets(pack: Pack, bullets: Sequence[str]) -> tuple[Trace, ...]:
    """Each bullet with the rules of ``pack`` that quote it (none: an untraced bullet)."""
    sources = [(rule, collapse(rule.source)) for rule in pack.rules]
    return tuple(
        Trace(collapse(bullet), tuple(r for r, src in sources if first_sentence(bullet) in src))
        for bullet in bullets
    )


def other_rules(pack: Pack, traces: Sequence[Trace]) -> tuple[Rule, ...]:
    """Rules that quote checklist text outside its bullets (the account scope rule)."""
    traced = {rule.id for trace in traces for rule in trace.rules}
    return tuple(rule for rule in pack.rules if rule.id not in traced)


def _cell(text: str) -> str:
    return collapse(text).replace("|", "\\|")


def _rule_refs(rules: Sequence[Rule]) -> str:
    if not rules:
        return "**none**"
    return ", ".join(f"{r.id} ({ENFORCEMENT_MARKS[r.enforcement]})" for r in rules)


def _pack_section(pack: Pack, bullets: Sequence[str]) -> list[str]:
    traces = trace_bullets(pack, bullets)
    lines = [
        f"## {pack.id} {pack.version}: {_cell(pack.title)}",
        "",
        "| # | checklist bullet | rules |",
        "|---:|---|---|",
    ]
    lines.extend(
        f"| {n} | {_cell(t.bullet)} | {_rule_refs(t.rules)} |" for n, t in enumerate(traces, 1)
    )
    others = other_rules(pack, traces)
    if others:
        lines.extend(["", "Rules from the checklist's other text:", ""])
        lines.extend(f"- {r.id} ({ENFORCEMENT_MARKS[r.enforcement]}): {r.source}" for r in others)
    lines.extend(
        [
            "",
            "| rule | title | enforcement | severity | HIPAA (45 CFR) |",
            "|---|---|---|---|---|",
        ]
    )
    lines.extend(
        f"| {r.id} | {_cell(r.title)} | {r.enforcement} | {r.severity} | "
        f"{cited(r).replace('45 CFR ', '')} |"
        for r in pack.rules
    )
    return lines


def render_traceability(packs: Sequence[Pack], bullets: Mapping[str, Sequence[str]]) -> str:
    """docs/traceability.md: one section per pack, in the order given."""
    lines = [
        "# Checklist traceability",
        "",
        "<!-- Generated from the policy packs; do not edit. Regenerate with:",
        f"     {REGENERATE} -->",
        "",
        "Every bullet of CTM's HIPAA checklist, in both editions as published, and the",
        "hipaactl rules that check it (M mandatory, A advisory). A rule's `source` quotes",
        "its bullet; a test fails when a bullet has no rule or this file is out of date.",
        "See `hipaactl policies show RULE_ID` for a rule's check and remediation.",
    ]
    for pack in packs:
        lines.extend(["", *_pack_section(pack, bullets.get(pack.id, ()))])
    return "\n".join(lines) + "\n"
