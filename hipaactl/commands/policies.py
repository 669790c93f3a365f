"""``hipaactl policies list`` / ``policies show RULE_ID``: browse packs and rules."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from hipaactl.errors import UsageError
from hipaactl.plan.planfile import pack_document
from hipaactl.policy.model import Pack, Rule
from hipaactl.policy.packs import builtin_pack_ids, load_packs

POLICIES_FORMAT_VERSION = "1"


def builtin_packs() -> tuple[Pack, ...]:
    """The packs shipped with hipaactl, loaded. Raises PolicyPackError if one is broken."""
    return load_packs(builtin_pack_ids(), base_dir=Path.cwd())


def rule_document(rule: Rule) -> dict[str, Any]:
    """One rule as JSON for ``policies list --json`` and ``policies show --json``."""
    return {
        "id": rule.id,
        "pack": rule.pack_id,
        "title": rule.title,
        "hipaa": list(rule.hipaa),
        "hipaa_type": rule.hipaa_type,
        "source": rule.source,
        "severity": rule.severity,
        "enforcement": rule.enforcement,
        "resource": rule.resource,
        "remediation": rule.remediation,
    }


def policies_document(packs: tuple[Pack, ...]) -> dict[str, Any]:
    """The ``policies list --json`` document: format version and each pack with its rules."""
    return {
        "format_version": POLICIES_FORMAT_VERSION,
        "packs": [
            {**pack_document(p), "title": p.title, "rules": [rule_document(r) for r in p.rules]}
            for p in packs
        ],
    }


def find_rule(packs: tuple[Pack, ...], rule_id: str) -> Rule:
    """The built-in rule ``rule_id`` (case-blind); raises UsageError with close matches when
    there is none.
    """
    rules = {r.id: r for p in packs for r in p.rules}
    rule = rules.get(rule_id) or rules.get(rule_id.upper())
    if rule is not None:
        return rule
    close = difflib.get_close_matches(rule_id.upper(), list(rules), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "run `hipaactl policies list`"
    raise UsageError(f"no rule {rule_id!r} in the built-in packs", hint=hint)
