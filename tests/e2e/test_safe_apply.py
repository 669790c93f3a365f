"""Issue 13 through the CLI against ``sandbox serve``: a safe apply order whose
dependents are skipped when what they need failed (item 1), and an apply refused for
any reason writes nothing, its change log head included (item 5)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hipaactl.apply.lock import ApplyLock
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import (
    ExpectedCredentials,
    Response,
    SandboxServer,
    Simulator,
)
from tests.e2e.conftest import Run, StartServer, write_config
from tests.e2e.processes import serve_simulator

Hipaactl = Callable[..., Run]
SETTINGS = "account[1001].settings"


class FailingSettingsWrites(Simulator):
    """Every write to an account's settings is refused (422, never retried)."""

    def __init__(self, backend: SandboxBackend) -> None:
        super().__init__(backend, credentials=ExpectedCredentials())

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        if method == "PUT" and urlsplit(target).path.endswith("/settings"):
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


def serve(document: dict[str, Any], stack: ExitStack) -> SandboxServer:
    def simulator(url: str) -> Simulator:
        return FailingSettingsWrites(SandboxBackend(document, base_url=url))

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
