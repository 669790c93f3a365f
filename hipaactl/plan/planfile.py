"""The Plan, its versioned JSON format, its digests, and saved-plan staleness checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipaactl import __version__
from hipaactl.canonical import DocumentError, digest, parse_json
from hipaactl.errors import PlanFileError, StalePlanError
from hipaactl.files import os_error_reason
from hipaactl.model.changes import Change, ManualAction
from hipaactl.policy.model import Pack, RuleResult

PLAN_FORMAT_VERSION = "1"


@dataclass(frozen=True)
class Plan:
    created_at: str
    config_sha256: str
    state_fingerprint: str
    targets: tuple[str, ...]
    changes: tuple[Change, ...]
    manual_actions: tuple[ManualAction, ...]
    packs: tuple[Pack, ...]
    gate_results: tuple[RuleResult, ...]
    warnings: tuple[str, ...] = ()
    # Every address this plan could target (filled for plan --list-addresses and
    # --target only; not part of the saved format).
    addresses: tuple[str, ...] = ()

    @property
    def changes_sha256(self) -> str:
        """SHA-256 hex of the canonical JSON list of change documents (SPEC section 5)."""
        return digest([change_document(c) for c in self.changes])

    @property
    def unsafe(self) -> bool:
        """Whether any change weakens security (needs ``--force``, SPEC section 6)."""
        return any(c.unsafe for c in self.changes)

    @property
    def partial(self) -> bool:
        """Whether the plan was made with ``--target`` and covers only part of the state."""
        return bool(self.targets)

    @property
    def has_changes(self) -> bool:
        """Whether there is anything to apply (manual actions are not applied)."""
        return bool(self.changes)

    def summary(self) -> dict[str, int]:
        """Counts ``{"add", "change", "destroy", "manual"}`` for the plan JSON and the
        summary line (SPEC section 5).
        """
        actions = [c.action for c in self.changes]
        return {
            "add": actions.count("create"),
            "change": actions.count("update"),
            "destroy": actions.count("delete"),
            "manual": len(self.manual_actions),
            "unread": sum(1 for m in self.manual_actions if m.unread),
        }

    @property
    def all_read(self) -> bool:
        """Every value the plan needed was read: only then may it say "No changes"."""
        return not any(m.unread for m in self.manual_actions)


def change_document(change: Change) -> dict[str, Any]:
    """One change as JSON, as listed in the plan's ``changes`` (SPEC section 5)."""
    return {
        "address": change.address,
        "resource_type": change.resource_type,
        "action": change.action,
        "before": dict(change.before) if change.before is not None else None,
        "after": dict(change.after) if change.after is not None else None,
        "reasons": list(change.reasons),
        "depends_on": list(change.depends_on),
        "unsafe": list(change.unsafe),
    }


def manual_action_document(action: ManualAction) -> dict[str, Any]:
    """One manual action as JSON, as listed in the plan's ``manual_actions`` (SPEC section 5)."""
    return {
        "address": action.address,
        "rule_ids": list(action.rule_ids),
        "message": action.message,
        "remediation": list(action.remediation),
        "unread": action.unread,
    }


def result_document(result: RuleResult) -> dict[str, Any]:
    """One rule result as JSON, shaped as in the plan's ``policy`` and the check report
    (SPEC section 7).
    """
    rule = result.rule
    return {
        "rule_id": rule.id,
        "pack": rule.pack_id,
        "address": result.address,
        "status": result.status,
        "enforcement": rule.enforcement,
        "severity": rule.severity,
        "hipaa": list(rule.hipaa),
        "message": result.message,
        "remediation": rule.remediation,
        "waived": result.waived,
    }


def pack_document(pack: Pack) -> dict[str, str]:
    """``{"id", "version", "sha256"}`` of a loaded pack, as listed in plans and reports."""
    return {"id": pack.id, "version": pack.version, "sha256": pack.sha256}


def _gate_document(plan: Plan) -> dict[str, Any]:
    return gate_document(plan.packs, plan.gate_results, plan.warnings)


def gate_document(
    packs: Sequence[Pack], results: Sequence[RuleResult], warnings: Sequence[str]
) -> dict[str, Any]:
    """The policy gate's verdict on the declared state: the ``policy`` object of a plan,
    also printed alone by ``plan --json`` when the gate stops the plan."""
    failed = [r for r in results if r.status == "fail"]
    return {
        "packs": [pack_document(p) for p in packs],
        "mandatory_failures": sum(
            1 for r in failed if r.rule.enforcement == "mandatory" and not r.waived
        ),
        "advisory_failures": sum(1 for r in failed if r.rule.enforcement == "advisory" or r.waived),
        "results": [result_document(r) for r in failed],
        "warnings": list(warnings),
    }


def plan_document(plan: Plan) -> dict[str, Any]:
    """The documented plan JSON (format_version 1). Only ``created_at`` varies between
    identical runs."""
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "hipaactl_version": __version__,
        "created_at": plan.created_at,
        "config_sha256": plan.config_sha256,
        "state_fingerprint": plan.state_fingerprint,
        "targets": list(plan.targets),
        "partial": plan.partial,
        "changes": [change_document(c) for c in plan.changes],
        "changes_sha256": plan.changes_sha256,
        "unsafe": plan.unsafe,
        "manual_actions": [manual_action_document(m) for m in plan.manual_actions],
        "summary": plan.summary(),
        "policy": _gate_document(plan),
    }


@dataclass(frozen=True)
class SavedPlan:
    """The parts of a saved plan file that apply checks against a rebuilt plan."""

    path: Path
    config_sha256: str
    state_fingerprint: str
    changes_sha256: str
    targets: tuple[str, ...]


def _require_str(document: Mapping[str, Any], key: str, path: Path) -> str:
    value = document.get(key)
    if not isinstance(value, str):
        raise PlanFileError(f"{path}: plan file does not match its inputs ({key} is missing)")
    return value


def read_saved_plan(path: Path) -> SavedPlan:
    """Load a plan file, refusing other versions and plans whose changes were edited."""
    try:
        document = parse_json(path.read_bytes())
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except OSError as exc:
        reason = os_error_reason(exc)
        raise PlanFileError(f"{path}: cannot read the plan file: {reason}") from None
    except DocumentError as exc:
        raise PlanFileError(f"{path}: not a hipaactl plan file ({exc})") from None
    if not isinstance(document, dict):
        raise PlanFileError(f"{path}: not a hipaactl plan file")
    if document.get("format_version") != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{path}: unknown plan format_version {document.get('format_version')!r} "
            f"(this hipaactl reads {PLAN_FORMAT_VERSION!r})"
        )
    if document.get("hipaactl_version") != __version__:
        raise PlanFileError(
            f"{path}: the plan was made by hipaactl {document.get('hipaactl_version')!r}, "
            f"this is {__version__}",
            hint="run plan again with this version",
        )
    changes = document.get("changes")
    recorded = _require_str(document, "changes_sha256", path)
    if not isinstance(changes, list) or digest(changes) != recorded:
        raise PlanFileError(f"{path}: plan file does not match its inputs (changes were edited)")
    targets = document.get("targets", [])
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise PlanFileError(f"{path}: plan file does not match its inputs (targets)")
    return SavedPlan(
        path=path,
        config_sha256=_require_str(document, "config_sha256", path),
        state_fingerprint=_require_str(document, "state_fingerprint", path),
        changes_sha256=recorded,
        targets=tuple(targets),
    )


def ensure_current(saved: SavedPlan, rebuilt: Plan) -> None:
    """Raise unless the saved plan was made from this config and this live state."""
    if saved.config_sha256 != rebuilt.config_sha256:
        raise StalePlanError(
            f"stale plan — run plan again: {saved.path} was made from another version of "
            "the configuration or its policy packs"
        )
    if saved.state_fingerprint != rebuilt.state_fingerprint:
        raise StalePlanError(
            f"stale plan — run plan again: live state changed since {saved.path} was made"
        )
    if saved.changes_sha256 != rebuilt.changes_sha256:
        raise PlanFileError(
            f"plan file does not match its inputs: the changes in {saved.path} differ from "
            "the changes this config and live state produce"
        )


def _change_from_document(item: Mapping[str, Any]) -> Change:
    return Change(
        address=item["address"],
        resource_type=item["resource_type"],
        action=item["action"],
        before=item.get("before"),
        after=item.get("after"),
        reasons=tuple(item.get("reasons", ())),
        depends_on=tuple(item.get("depends_on", ())),
        unsafe=tuple(item.get("unsafe", ())),
    )


def _manual_from_document(item: Mapping[str, Any]) -> ManualAction:
    return ManualAction(
        address=item["address"],
        rule_ids=tuple(item.get("rule_ids", ())),
        remediation=tuple(item.get("remediation", ())),
        message=item.get("message", ""),
        unread=bool(item.get("unread", False)),
    )


def load_plan_for_display(path: Path) -> Plan:
    """A saved plan as a Plan for ``show`` (packs and gate results are not restored)."""
    read_saved_plan(path)  # refuses other versions and edited changes
    document = parse_json(path.read_bytes())
    try:
        return Plan(
            created_at=document["created_at"],
            config_sha256=document["config_sha256"],
            state_fingerprint=document["state_fingerprint"],
            targets=tuple(document.get("targets", ())),
            changes=tuple(_change_from_document(c) for c in document["changes"]),
            manual_actions=tuple(
                _manual_from_document(m) for m in document.get("manual_actions", ())
            ),
            packs=(),
            gate_results=(),
            warnings=tuple(document.get("policy", {}).get("warnings", ())),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise PlanFileError(f"{path}: not a hipaactl plan file (missing {exc})") from None
