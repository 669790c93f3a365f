"""``hipaactl validate``: every config problem at once, then the policy gate, offline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipaactl.config.load import load_config_issues
from hipaactl.config.model import Config
from hipaactl.errors import ConfigError, ConfigIssue, PolicyPackError
from hipaactl.files import shown_path
from hipaactl.policy.gate import GateOutcome, evaluate_gate
from hipaactl.policy.model import Pack, RuleResult
from hipaactl.policy.packs import load_packs, pack_limit_issues
from hipaactl.report.render.json import render_json
from hipaactl.report.render.text import render_gate_failures

VALIDATE_FORMAT_VERSION = "1"


@dataclass(frozen=True)
class Validation:
    issues: tuple[ConfigIssue, ...]
    gate: GateOutcome | None
    config: Config | None

    @property
    def exit_code(self) -> int:
        """1 for config or pack issues, 3 when a mandatory rule fails, else 0 (SPEC section 1)."""
        if self.issues:
            return 1
        return 3 if self.gate is not None and self.gate.mandatory_failures else 0


def _load_packs(config: Config) -> tuple[tuple[Pack, ...], list[ConfigIssue]]:
    try:
        packs = load_packs(config.policies, base_dir=config.directory, config_file=config.path)
    except ConfigError as exc:
        return (), list(exc.issues)
    except PolicyPackError as exc:
        return (), [ConfigIssue(file=shown_path(config.path), key="policies", message=str(exc))]
    return packs, pack_limit_issues(config, packs)


def validate_config(path: Path, today: dt.date) -> Validation:
    """Load the config and its packs and run the gate, collecting every issue instead of
    raising; the gate runs only when both loaded cleanly.
    """
    config, issues = load_config_issues(path, today=today)
    if config is None or issues:
        return Validation(tuple(issues), None, config)
    packs, pack_issues = _load_packs(config)
    if pack_issues:
        return Validation(tuple(pack_issues), None, config)
    return Validation((), evaluate_gate(config, packs, today=today), config)


def _issue_document(issue: ConfigIssue) -> dict[str, Any]:
    return {
        "file": issue.file,
        "key": issue.key,
        "line": issue.line,
        "column": issue.column,
        "message": issue.message,
    }


def _rule_document(result: RuleResult, config: Config) -> dict[str, Any]:
    rule = result.rule
    return {
        "file": shown_path(config.path),
        "key": result.address,
        "line": None,
        "column": None,
        "rule_id": rule.id,
        "message": f"{rule.id} ({', '.join(rule.hipaa)}): {result.message}. "
        f"Remediation: {rule.remediation}",
    }


def validation_document(validation: Validation) -> dict[str, Any]:
    """The ``validate --json`` document: issues and mandatory failures as ``errors``,
    advisory failures and gate warnings as ``warnings``.
    """
    errors = [_issue_document(i) for i in validation.issues]
    warnings: list[Any] = []
    gate, config = validation.gate, validation.config
    if gate is not None and config is not None:
        errors.extend(_rule_document(r, config) for r in gate.mandatory_failures)
        warnings.extend(_rule_document(r, config) for r in gate.advisory_failures)
        warnings.extend({"message": w} for w in gate.warnings)
    return {"format_version": VALIDATE_FORMAT_VERSION, "errors": errors, "warnings": warnings}


def validation_text(validation: Validation) -> tuple[str, str]:
    """(stdout, stderr) of a text-mode validate."""
    if validation.issues:
        return "", f"error: {ConfigError(list(validation.issues))}"
    gate, config = validation.gate, validation.config
    assert gate is not None and config is not None
    messages = [f"warning: {w}" for w in gate.warnings]
    if gate.advisory_failures:
        messages.append(
            render_gate_failures(gate.advisory_failures, "warning: advisory rules failed:")
        )
    if gate.mandatory_failures:
        messages.append(
            render_gate_failures(
                gate.mandatory_failures, "error: the declared desired state fails mandatory rules:"
            )
        )
        return "", "\n".join(messages)
    summary = (
        f"{shown_path(config.path)} is valid: {len(config.accounts)} [[account]] entries, "
        f"packs {', '.join(config.policies)}.\n"
    )
    return summary, "\n".join(messages)


def run_validate(path: Path, today: dt.date, *, as_json: bool) -> tuple[int, str, str]:
    """``hipaactl validate``: returns (exit code, stdout text, stderr text); with ``as_json``
    the document goes to stdout and stderr is empty. Exit codes as in SPEC section 1.
    """
    validation = validate_config(path, today)
    if as_json:
        return validation.exit_code, render_json(validation_document(validation)), ""
    stdout, stderr = validation_text(validation)
    return validation.exit_code, stdout, stderr
