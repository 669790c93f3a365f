"""Alerts carry no personal data and never change the exit code."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hipaactl.providers.sandbox.generate import compliant_account, compliant_security
from hipaactl.report.alerts import Pseudonymizer, check_summary, deliver, slack_message
from tests.conftest import CliRunner
from tests.policy.builders import account, config, live, number, override, security
from tests.report.render.builders import report_of
from tests.webhook import Receiver, receiving

COMPLIANT_CONFIG = """
version = 1
policies = ["ctm-hipaa-current"]
[provider]
seed = "sandbox/agency.json"
[[account]]
id = 1001
[attestations.baa]
counterparty = "CallTrackingMetrics"
effective_on = {recent}
confirmed_on = {recent}
by = "compliance@clinic.example"
[attestations.individual_logins]
confirmed_on = {recent}
by = "compliance@clinic.example"
[integrations]
allow = [{{ name = "ehr", host = "hooks.clinic.example", baa = true }}]
"""
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


def test_user_addresses_and_emails_are_pseudonymised() -> None:
    keyed = Pseudonymizer(b"k")
    address = keyed.address('account[1001].user["Dr.Lee@clinic.example"]')
    assert re.fullmatch(r"account\[1001\]\.user\[h:[0-9a-f]{12}\]", address)
    assert address == keyed.address('account[1001].user["dr.lee@clinic.example"]')
    assert address != Pseudonymizer(b"other").address('account[1001].user["dr.lee@clinic.example"]')
    assert "@" not in keyed.text("could not create dr.lee@clinic.example: 422")
    assert Pseudonymizer(None).warning is not None and keyed.warning is None


def test_slack_target_gets_a_slack_message() -> None:
    sent: list[tuple[str, Any]] = []
    summary = {
        "source": "hipaactl plan",
        "status": "drift",
        "counts": {"add": 1},
        "changes": [{"address": "agency.security", "action": "update"}],
        "run_url": None,
    }
    deliver("slack:https://hooks.example/x", summary, post=lambda u, b: sent.append((u, b)))
    assert sent == [("https://hooks.example/x", slack_message(summary))]
    assert "agency.security" in sent[0][1]["text"]


def test_plan_with_drift_posts_a_summary_without_emails(
    clinic: Path, cli: CliRunner, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIPAACTL_HASH_KEY", "test-key")
    monkeypatch.setenv("HIPAACTL_RUN_URL", "https://ci.example/run/1")
    result = cli("plan", "--detailed-exitcode", "--notify", receiver.url)
    assert result.code == 2
    assert receiver.url not in result.out + result.err
    (summary,) = receiver.bodies
    assert summary["status"] == "drift" and summary["run_url"] == "https://ci.example/run/1"
    addresses = [c["address"] for c in summary["changes"]]
    assert "agency.security" in addresses
    assert any(re.search(r"\.user\[h:[0-9a-f]{12}\]$", a) for a in addresses)
    assert not EMAIL.search(json.dumps(summary))


def test_nothing_is_posted_when_all_is_well(
    clinic: Path, cli: CliRunner, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = {
        "agency": {"security": compliant_security()},
        "accounts": [compliant_account(1001, "Clinic")],
    }
    Path("sandbox/agency.json").write_text(json.dumps(seed))
    recent = dt.date.today() - dt.timedelta(days=30)
    Path("hipaa.toml").write_text(COMPLIANT_CONFIG.format(recent=recent.isoformat()))
    monkeypatch.setenv("HIPAACTL_NOTIFY_URL", receiver.url)
    assert cli("plan", "--detailed-exitcode").code == 0
    assert receiver.bodies == []


def test_a_failed_notification_does_not_change_the_exit_code(
    clinic: Path, cli: CliRunner, receiver: Receiver
) -> None:
    receiver.status = 500
    result = cli("plan", "--detailed-exitcode", "--notify", receiver.url)
    assert result.code == 2
    assert "notification failed" in result.err and receiver.url not in result.err


def test_errors_are_posted_too(clinic: Path, cli: CliRunner, receiver: Receiver) -> None:
    Path("sandbox/agency.json").write_text("{}")
    result = cli("plan", "--notify", receiver.url)
    assert result.code == 1
    (summary,) = receiver.bodies
    assert summary["status"] == "error" and summary["errors"]


def _compliant_clinic() -> None:
    seed = {
        "agency": {"security": compliant_security()},
        "accounts": [compliant_account(1001, "Clinic")],
    }
    Path("sandbox/agency.json").write_text(json.dumps(seed))
    recent = dt.date.today() - dt.timedelta(days=30)
    Path("hipaa.toml").write_text(COMPLIANT_CONFIG.format(recent=recent.isoformat()))


def test_check_posts_failed_rules_without_emails(
    clinic: Path, cli: CliRunner, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIPAACTL_HASH_KEY", "test-key")
    result = cli("check", "--format", "json", "--notify", receiver.url)
    assert result.code == 3
    assert receiver.url not in result.out + result.err
    (summary,) = receiver.bodies
    report = json.loads(result.out)
    assert summary["source"] == "hipaactl check" and summary["status"] == "failed_rules"
    assert summary["exit_code"] == 3 and summary["counts"] == report["summary"]
    flagged = {(r["rule_id"], r["status"]) for r in summary["failed"]}
    assert ("CTM-SEC-01", "fail") in flagged
    assert len(summary["failed"]) == report["summary"]["fail"] + report["summary"]["manual"]
    shared = [r["address"] for r in summary["failed"] if r["rule_id"] == "CTM-LOGIN-02"]
    assert shared and all(re.search(r"\.user\[h:[0-9a-f]{12}\]$", a) for a in shared)
    assert not EMAIL.search(json.dumps(summary))


def test_check_posts_nothing_when_every_rule_passes(
    clinic: Path, cli: CliRunner, receiver: Receiver
) -> None:
    _compliant_clinic()
    result = cli("check", "--notify", receiver.url)
    assert result.code == 0, result.err
    assert receiver.bodies == []


def test_check_posts_an_unreadable_state_as_an_error(
    clinic: Path, cli: CliRunner, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("sandbox/agency.json").write_text("{}")
    monkeypatch.setenv("HIPAACTL_NOTIFY_URL", receiver.url)
    result = cli("check")
    assert result.code == 1
    (summary,) = receiver.bodies
    assert summary["source"] == "hipaactl check" and summary["status"] == "error"
    assert summary["errors"] and receiver.url not in result.err


def test_check_slack_message_names_rules_and_addresses(
    clinic: Path, cli: CliRunner, receiver: Receiver
) -> None:
    url = receiver.url
    result = cli("check", "--notify", f"slack:{url}")
    assert result.code == 3
    (message,) = receiver.bodies
    assert set(message) == {"text"}
    assert "*hipaactl check*: failed rules" in message["text"]
    assert "• fail `agency.security` CTM-SEC-01" in message["text"]
    assert not EMAIL.search(message["text"])


def test_check_summary_is_none_when_nothing_failed_or_only_waived() -> None:
    keyed = Pseudonymizer(b"k")
    assert check_summary(report_of(), keyed, {}) is None
    waived = report_of(
        config(overrides=(override("CTM-SEC-01"),)),
        live(agency_security=security(idle_timeout_minutes=60)),
    )
    assert waived.summary()["waived"] == 1
    assert check_summary(waived, keyed, {}) is None


def test_check_summary_lists_errors_and_failures_and_errors_win() -> None:
    state = live(
        account(numbers=(number("TPN1", eligible=None),)),
        agency_security=security(idle_timeout_minutes=60),
    )
    summary = check_summary(report_of(state=state), Pseudonymizer(b"k"), {})
    assert summary is not None
    assert (summary["status"], summary["exit_code"]) == ("error", 1)
    assert summary["failed"] == [
        {
            "rule_id": "CTM-SEC-01",
            "address": "agency.security",
            "status": "fail",
            "enforcement": "mandatory",
        }
    ]
    (error,) = summary["errors"]
    assert error.startswith('CTM-NUM-01 account[1001].number["TPN1"]: ')
    assert summary["counts"]["error"] == 1 and summary["run_url"] is None
