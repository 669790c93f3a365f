"""``hipaactl policies list`` / ``policies show RULE_ID``: browse packs and rules."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

from hipaactl.config.load import load_config
from hipaactl.errors import ConfigError, PolicyPackError, UsageError
from hipaactl.plan.planfile import pack_document
from hipaactl.policy.model import Pack, Rule
from hipaactl.policy.packs import BUILTIN_PREFIX, builtin_pack_ids, load_packs

POLICIES_FORMAT_VERSION = "1"


def builtin_packs() -> tuple[Pack, ...]:
    """The packs shipped with hipaactl, loaded. Raises PolicyPackError if one is broken."""
    return load_packs(builtin_pack_ids(), base_dir=Path.cwd())


def known_packs(config_path: Path) -> tuple[tuple[Pack, ...], list[str]]:
    """The built-in packs, then the custom pack files the config names (when there is a
    config); and warnings. A config that does not load leaves only the built-in packs:
    browsing rules must not need a valid config."""
    packs = builtin_packs()
    if not config_path.is_file():
        return packs, []
    try:
        config = load_config(config_path, today=dt.date.today(), check_files=False)
        named = load_packs(config.policies, base_dir=config.directory, config_file=config.path)
    except ConfigError as exc:
        return packs, [
            f"custom packs of {config_path} not listed: {i.render()}" for i in exc.issues
        ]
    except PolicyPackError as exc:
        return packs, [f"custom packs of {config_path} not listed: {exc.message}"]
    custom = tuple(p for p in named if not p.source_path.startswith(BUILTIN_PREFIX))
    return packs + custom, []


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
            {
                **pack_document(p),
                "title": p.title,
                "source": pack_source(p),
                "rules": [rule_document(r) for r in p.rules],
            }
            for p in packs
        ],
    }


def pack_source(pack: Pack) -> str:
    """ "built-in", or the pack file's path as the config names it."""
    return "built-in" if pack.source_path.startswith(BUILTIN_PREFIX) else pack.source_path


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
    raise UsageError(f"no rule {rule_id!r} in the loaded packs", hint=hint)
