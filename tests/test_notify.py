"""Alerts carry no personal data and never change the exit code."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hipaactl.notify import Pseudonymizer, deliver, slack_message
from hipaactl.providers.sandbox.generate import compliant_account, compliant_security
from tests.conftest import CliRunner

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
"""
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


class Receiver(ThreadingHTTPServer):
    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.status = status
        self.bodies: list[Any] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(200)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


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
