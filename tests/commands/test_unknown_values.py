"""Unknown live values are kept, shown and guarded (issue 13 item 3, SPEC sections 3 and
6), and the user rules of issue 11, through the real CLI on a copy of the clinic example."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import CliRunner

STATE = Path(".hipaactl/sandbox/state.json")
LOG = Path(".hipaactl/audit.jsonl")


def edit_live(change: Any) -> None:
    working = json.loads(STATE.read_text())
    change(working["state"])
    STATE.write_text(json.dumps(working))


def downtown(state: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in state["accounts"] if a["id"] == 1001)


def set_idle_and_redaction(state: dict[str, Any]) -> None:
    state["agency"]["security"]["idle_timeout_minutes"] = 15.0
    downtown(state)["settings"]["redaction_schedule"] = "weekly"


def records(address: str) -> list[dict[str, Any]]:
    lines = LOG.read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["address"] == address]


def test_an_unrecognised_live_value_is_shown_logged_and_guarded(
    clinic: Path, cli: CliRunner
) -> None:
    assert cli("apply", "--auto-approve").code == 0
    edit_live(set_idle_and_redaction)

    planned = cli("plan")
    assert planned.code == 0, planned.err
    assert "idle_timeout_minutes: 15.0 -> 15" in planned.out
    assert 'redaction_schedule: "weekly" -> "30_days"' in planned.out
    assert "!! unsafe: idle_timeout_minutes: live value unknown (15.0) -> 15" in planned.out
    assert '!! unsafe: redaction_schedule: live value unknown ("weekly") -> "30_days"' in (
        planned.out
    )
    changes = {c["address"]: c for c in json.loads(cli("plan", "--json").out)["changes"]}
    assert changes["agency.security"]["before"] == {"idle_timeout_minutes": 15.0}
    assert changes["account[1001].settings"]["before"] == {"redaction_schedule": "weekly"}

    checked = json.loads(cli("check", "--format", "json").out)
    statuses = {(r["rule_id"], r["address"]): r["status"] for r in checked["results"]}
    assert statuses[("CTM-SEC-01", "agency.security")] == "error"  # never a pass
    assert statuses[("CTM-RED-01", "account[1001].settings")] == "error"

    refused = cli("apply", "--auto-approve")
    assert refused.code == 1 and "live value unknown" in refused.err
    assert cli("apply", "--auto-approve", "--force").code == 0
    logged = [r for r in records("agency.security") if r["result"] == "applied"]
    assert logged[-1]["before"] == {"idle_timeout_minutes": 15.0}  # as read, never null
    assert cli("plan", "--detailed-exitcode").code == 0


def test_a_missing_live_value_is_unknown(clinic: Path, cli: CliRunner) -> None:
    assert cli("plan").code == 0
    edit_live(lambda state: state["agency"]["security"].pop("two_factor"))
    planned = cli("plan")
    assert planned.code == 0
    assert '!! unsafe: two_factor: live value unknown (missing) -> "every_login"' in planned.out


def test_an_unknown_role_is_kept_shown_and_guarded(clinic: Path, cli: CliRunner) -> None:
    assert cli("plan").code == 0

    def make_owner(state: dict[str, Any]) -> None:
        for user in downtown(state)["users"]:
            if user["email"].startswith("sam.ortiz@"):
                user["role"] = "owner"

    edit_live(make_owner)
    planned = cli("plan")
    assert planned.code == 0, planned.err
    assert 'role: "owner" -> "call_manager"' in planned.out
    assert '!! unsafe: user role changed to call_manager: live role unknown ("owner")' in (
        planned.out
    )
    users = json.loads(cli("check", "--format", "json").out)["users"]
    assert {"account": 1001, "email": "sam.ortiz@downtown-clinic.example", "role": "owner",
            "status": "active"} in users  # fmt: skip


def test_a_promotion_to_admin_is_unsafe(clinic: Path, cli: CliRunner) -> None:
    config = Path("hipaa.toml")
    text = config.read_text()
    config.write_text(text.replace('role = "call_manager"', 'role = "agency_admin"', 1))
    planned = cli("plan")
    assert "!! unsafe: user promoted: agent -> agency_admin" in planned.out


def test_names_are_needed_only_to_create_a_user(clinic: Path, cli: CliRunner) -> None:
    config = Path("hipaa.toml")
    text = config.read_text()
    # An existing user without names: they are left alone.
    text = text.replace('first_name = "Ada"\nlast_name = "Lee"\n', "", 1)
    config.write_text(text)
    planned = cli("plan")
    assert planned.code == 0, planned.err
    assert 'user["dr.lee@downtown-clinic.example"]' not in planned.out
    # A user apply must create: a plan-time error naming the key.
    config.write_text(text.replace('first_name = "Rosa"\n', "", 1))
    failed = cli("plan")
    assert failed.code == 1
    assert "account[#0].user[#2].first_name" in failed.err
    assert "Traceback" not in failed.err


def test_a_plan_saved_by_0_1_0_is_refused_naming_the_version(clinic: Path, cli: CliRunner) -> None:
    assert cli("plan", "-o", "p.json").code == 0
    saved = Path("p.json")
    saved.write_text(re.sub(r'"hipaactl_version": "[^"]*"', '"hipaactl_version": "0.1.0"',
                            saved.read_text()))  # fmt: skip
    refused = cli("apply", "p.json")
    assert refused.code == 1
    assert "0.1.0" in refused.err
    assert not LOG.exists()
