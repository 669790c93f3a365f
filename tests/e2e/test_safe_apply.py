"""Issue 13 through the CLI against ``sandbox serve``: a safe apply order whose
dependents are skipped when what they need failed (item 1), and an apply refused for
any reason writes nothing, its change log head included (item 5)."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hipaactl.apply.audit_log import read_log
from hipaactl.apply.lock import ApplyLock
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import (
    ExpectedCredentials,
    Response,
    SandboxServer,
    Simulator,
)
from tests.apply.full_disk import fill_disk_at
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY, Run, StartServer, write_config
from tests.e2e.processes import serve_simulator

Hipaactl = Callable[..., Run]
SETTINGS = "account[1001].settings"


class RefusedWrites(Simulator):
    """Every write to a path ending in ``suffix`` is refused (422, never retried)."""

    def __init__(self, backend: SandboxBackend, suffix: str) -> None:
        super().__init__(backend, credentials=ExpectedCredentials(ACCESS_KEY, SECRET_KEY))
        self._suffix = suffix

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        if method == "PUT" and urlsplit(target).path.endswith(self._suffix):
            return Response(422, {"status": "error", "reason": "settings are locked"})
        return super().respond(method, target, authorization, body)


def unencrypted_agency() -> dict[str, Any]:
    """One account whose recordings are off and unencrypted: the config turns both on."""
    document = generate_agency(1, seed=1)
    account = document["accounts"][0]
    account["settings"]["encrypted_recordings"] = False
    for profile in account["call_settings"]:
        profile["inbound_recordings_on"] = False
        profile["outbound_recording_on"] = False
    return document


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as servers:
        yield servers


def serve(document: dict[str, Any], stack: ExitStack, suffix: str = "/settings") -> SandboxServer:
    def simulator(url: str) -> Simulator:
        return RefusedWrites(SandboxBackend(document, base_url=url), suffix)

    return stack.enter_context(serve_simulator(simulator))


def log_outcomes(log: Path) -> dict[str, list[str]]:
    outcomes: dict[str, list[str]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        outcomes.setdefault(record["address"], []).append(record["result"])
    return outcomes


def test_recording_is_skipped_when_the_encryption_it_needs_failed(
    tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    server = serve(unencrypted_agency(), stack)
    config = str(write_config(tmp_path, server.url))

    planned = hipaactl("-c", config, "plan", "--json")
    applied = hipaactl("-c", config, "apply", "--auto-approve", "--force")

    profiles = server.simulator.backend.snapshot()["accounts"][0]["call_settings"]
    changes = {c["address"]: c for c in json.loads(planned.stdout)["changes"]}
    profile_addresses = [a for a in changes if ".call_settings[" in a]
    assert profile_addresses
    for address in profile_addresses:
        assert changes[address]["depends_on"] == [SETTINGS]
        assert f"skipped     update {address}: depends on {SETTINGS}, which was failed" in (
            applied.stdout
        )
    assert f"FAILED      update {SETTINGS}: " in applied.stdout
    assert "settings are locked" in applied.stdout
    assert applied.code == 1
    # Nothing records without encryption, and the change log says the same as the report.
    assert not any(p["inbound_recordings_on"] or p["outbound_recording_on"] for p in profiles)
    outcomes = log_outcomes(tmp_path / ".hipaactl" / "audit.jsonl")
    assert outcomes[SETTINGS] == ["started", "failed"]
    assert not any(address in outcomes for address in profile_addresses)


def test_a_notification_keeping_recording_url_waits_for_login_to_be_required(
    tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    # recording_url is PHI unless login is required to hear recordings: the plan keeps it
    # only because agency.security turns that on, so the change must wait for it.
    document = generate_agency(1, seed=1)
    document["agency"]["security"]["require_login_for_recordings"] = False
    notification = document["accounts"][0]["notifications"][0]
    notification["fields"] = ["recording_url", "caller_name", "call_start"]
    server = serve(document, stack, suffix="/agency/security")
    config = str(write_config(tmp_path, server.url))

    applied = hipaactl("-c", config, "apply", "--auto-approve", "--force")

    address = f'account[1001].notification["{notification["id"]}"]'
    assert "FAILED      update agency.security: " in applied.stdout
    assert f"skipped     update {address}: depends on agency.security, which was failed" in (
        applied.stdout
    )
    left = server.simulator.backend.snapshot()["accounts"][0]["notifications"][0]
    assert left["fields"] == notification["fields"]
    assert applied.code == 1


def test_the_plan_shows_the_order_dependency(
    tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    server = serve(unencrypted_agency(), stack)
    config = str(write_config(tmp_path, server.url))

    planned = hipaactl("-c", config, "plan")

    assert f"(after {SETTINGS})" in planned.stdout


# ---- item 5: a refused apply writes nothing ---------------------------------------------


def _stale(hipaactl: Hipaactl, config: str, tmp_path: Path, server: SandboxServer) -> Run:
    plan_file = str(tmp_path / "saved.json")
    hipaactl("-c", config, "plan", "-o", plan_file)
    backend = server.simulator.backend
    backend.handle("PUT", "/api/v1/agency/security", {}, {"idle_timeout_minutes": 30})
    return hipaactl("-c", config, "apply", plan_file)


def _altered(hipaactl: Hipaactl, config: str, tmp_path: Path, server: SandboxServer) -> Run:
    plan_file = tmp_path / "saved.json"
    hipaactl("-c", config, "plan", "-o", str(plan_file))
    document = json.loads(plan_file.read_text(encoding="utf-8"))
    document["changes"] = document["changes"][:1]
    plan_file.write_text(json.dumps(document), encoding="utf-8")
    return hipaactl("-c", config, "apply", str(plan_file))


def _unsafe(hipaactl: Hipaactl, config: str, tmp_path: Path, server: SandboxServer) -> Run:
    path = Path(config)
    # Lengthening redaction is unsafe, and only advisory rules look at it.
    path.write_text(path.read_text().replace('redaction = "30_days"', 'redaction = "off"'))
    return hipaactl("-c", config, "apply", "--auto-approve")


def _gate(hipaactl: Hipaactl, config: str, tmp_path: Path, server: SandboxServer) -> Run:
    path = Path(config)
    path.write_text(path.read_text().replace('two_factor = "every_login"', 'two_factor = "off"'))
    return hipaactl("-c", config, "apply", "--auto-approve", "--force")


def _locked(hipaactl: Hipaactl, config: str, tmp_path: Path, server: SandboxServer) -> Run:
    with ApplyLock(tmp_path, command="another apply", environ=os.environ, timeout=0):
        return hipaactl("-c", config, "apply", "--auto-approve", "--force")


def _no_approval(hipaactl: Hipaactl, config: str, tmp_path: Path, server: SandboxServer) -> Run:
    return hipaactl("-c", config, "apply", "--force")  # stdin is no terminal under pytest


def _target_with_plan(
    hipaactl: Hipaactl, config: str, tmp_path: Path, server: SandboxServer
) -> Run:
    plan_file = str(tmp_path / "saved.json")
    hipaactl("-c", config, "plan", "-o", plan_file)
    return hipaactl("-c", config, "apply", plan_file, "--target", SETTINGS)


REFUSALS = {
    "stale plan": (_stale, "stale plan"),
    "altered plan": (_altered, "does not match"),
    "unsafe": (_unsafe, "refusing an unsafe plan"),
    "gate": (_gate, "fails mandatory rules"),
    "lock": (_locked, "another apply"),
    "no approval": (_no_approval, "--auto-approve"),
    "--target with a plan file": (_target_with_plan, "--target"),
}


@pytest.mark.parametrize("reason", list(REFUSALS))
@pytest.mark.parametrize("earlier_log", [False, True], ids=["no log", "earlier log"])
def test_a_refused_apply_writes_no_change_log_and_no_head(
    reason: str,
    earlier_log: bool,
    tmp_path: Path,
    start_server: StartServer,
    hipaactl: Hipaactl,
) -> None:
    server = start_server(accounts=1, seed=3)
    config = str(write_config(tmp_path, server.url))
    log = tmp_path / ".hipaactl" / "audit.jsonl"
    head = tmp_path / ".hipaactl" / "audit.head"
    if earlier_log:
        first = hipaactl("-c", config, "apply", "--auto-approve", "--force", "--target", SETTINGS)
        assert first.code == 0, first.output
    before = {path: path.read_bytes() for path in (log, head) if path.exists()}
    live_before = server.simulator.backend.snapshot()
    refuse, says = REFUSALS[reason]

    run = refuse(hipaactl, config, tmp_path, server)

    assert run.code in (1, 3), run.output
    assert says in run.output, run.output
    assert "audit head" not in run.output
    assert "Apply results" not in run.stdout
    after = {path: path.read_bytes() for path in (log, head) if path.exists()}
    assert after == before
    if reason != "stale plan":  # that one changed live state on purpose, by hand
        assert server.simulator.backend.snapshot() == live_before


class AnsweringTerminal(io.StringIO):
    """A terminal on stdin: what the user types is its initial text."""

    def isatty(self) -> bool:
        return True


def test_an_apply_the_user_declines_writes_nothing(
    tmp_path: Path,
    start_server: StartServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = start_server(accounts=1, seed=3)
    config = str(write_config(tmp_path, server.url))
    live_before = server.simulator.backend.snapshot()
    monkeypatch.setattr("sys.stdin", AnsweringTerminal("no\n"))

    declined = hipaactl("-c", config, "apply", "--force")

    assert declined.code == 1, declined.output
    assert "Apply cancelled; nothing was changed." in declined.stderr
    assert not (tmp_path / ".hipaactl" / "audit.jsonl").exists()
    assert not (tmp_path / ".hipaactl" / "audit.head").exists()
    assert server.simulator.backend.snapshot() == live_before


def test_a_full_disk_on_an_outcome_is_reported_as_the_log_will_show_it(
    tmp_path: Path,
    start_server: StartServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second record is the first change's outcome: the write was made, its outcome
    # can't be logged. The report says unknown (with what the API answered), and the
    # next apply closes the open start as unknown: one truth about that change.
    server = start_server(accounts=1, seed=3)
    config = str(write_config(tmp_path, server.url, parallelism=1))
    log = tmp_path / ".hipaactl" / "audit.jsonl"
    with monkeypatch.context() as full:
        fill_disk_at(full, 2)
        run = hipaactl("-c", config, "apply", "--auto-approve", "--force")
    logged = [(r["address"], r["result"]) for r in read_log(log)]
    again = hipaactl("-c", config, "apply", "--auto-approve", "--force")
    closed = [(r["address"], r["result"]) for r in read_log(log)][len(logged)]

    ((address, result),) = logged
    assert result == "started"
    assert run.code == 1, run.output
    assert re.search(
        rf"^  UNKNOWN +\w+ {re.escape(address)}: outcome unknown — the API answered applied, "
        "but the change log could not record it",
        run.stdout,
        re.MULTILINE,
    ), run.stdout
    assert "applied" not in [
        line.split()[0] for line in run.stdout.splitlines() if line.startswith("  ")
    ]
    assert closed == (address, "unknown")
    assert again.code == 0, again.output
