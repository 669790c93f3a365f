"""Apply's safety rails through the real CLI: the lock, the unsafe-plan guard and the
change log (issue 6 acceptance 1-3)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hipaactl.apply.lock import ApplyLock
from tests.conftest import CliRunner

LOG = Path(".hipaactl/audit.jsonl")
STATE = Path(".hipaactl/sandbox/state.json")


def set_in_config(old: str, new: str) -> None:
    config = Path("hipaa.toml")
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))


def test_apply_fails_at_once_naming_the_lock_holder(clinic: Path, cli: CliRunner) -> None:
    with ApplyLock(clinic, command="hipaactl apply other.json", environ=os.environ):
        result = cli("apply", "--auto-approve")
    assert result.code == 1
    assert "another hipaactl run holds the lock" in result.err
    assert f"pid {os.getpid()}" in result.err and "hipaactl apply other.json" in result.err
    assert not LOG.exists()
    assert cli("apply", "--auto-approve").code == 0  # released: the next one runs


def test_sandbox_reset_takes_the_lock(clinic: Path, cli: CliRunner) -> None:
    with ApplyLock(clinic, command="hipaactl apply", environ=os.environ):
        assert cli("sandbox", "reset").code == 1


def test_weaker_two_factor_is_refused_without_force(clinic: Path, cli: CliRunner) -> None:
    assert cli("apply", "--auto-approve").code == 0
    set_in_config('two_factor = "every_login"', 'two_factor = "every_30_days"')
    plan = cli("plan")
    assert "!! unsafe: two_factor weakened" in plan.out
    assert json.loads(cli("plan", "--json").out)["unsafe"] is True
    before = STATE.read_bytes()
    refused = cli("apply", "--auto-approve")
    assert refused.code == 1 and "refusing an unsafe plan" in refused.err
    assert STATE.read_bytes() == before
    forced = cli("apply", "--auto-approve", "--force")
    assert forced.code == 0
    records = [json.loads(line) for line in LOG.read_text().splitlines()]
    last = records[-1]
    assert (last["address"], last["result"]) == ("agency.security", "applied")
    assert last["after"] == {"two_factor": "every_30_days"}


def test_longer_idle_timeout_is_unsafe(clinic: Path, cli: CliRunner) -> None:
    set_in_config("idle_timeout_minutes = 15", "idle_timeout_minutes = 10")
    assert cli("apply", "--auto-approve").code == 0
    set_in_config("idle_timeout_minutes = 10", "idle_timeout_minutes = 15")
    assert cli("apply", "--auto-approve").code == 1
    assert cli("apply", "--auto-approve", "--force").code == 0


def test_change_log_verifies_and_names_tampering(clinic: Path, cli: CliRunner) -> None:
    assert cli("apply", "--auto-approve").code == 0
    verified = cli("audit", "verify")
    assert verified.code == 0 and "OK: 28 records" in verified.out
    lines = LOG.read_text().splitlines(keepends=True)
    LOG.write_text("".join(lines[:5] + lines[6:]))  # remove one record
    broken = cli("audit", "verify")
    assert broken.code == 1 and "line 6" in broken.err
    LOG.write_text("".join(lines[:-2]))  # cut the last records
    cut = cli("audit", "verify")
    assert cut.code == 1 and "audit.head" in cut.err


def test_audit_show_renders_and_filters(clinic: Path, cli: CliRunner) -> None:
    assert cli("apply", "--auto-approve").code == 0
    shown = cli("audit", "show")
    assert "applied  agency.security" in shown.out
    records = json.loads(cli("audit", "show", "--json").out)
    assert len(records) == 28
    assert json.loads(cli("audit", "show", "--json", "--since", "2999-01-01").out) == []
    assert cli("audit", "show", "--since", "yesterday").code == 1
