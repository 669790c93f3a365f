"""Issue 11 end to end: the CLI against ``sandbox serve`` serving CTM's real shapes
(ctm-api-evidence.md): converging, verified writes, and the inferred-writes opt-in."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import SandboxServer
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY, Run, StartServer, write_config
from tests.e2e.processes import read_records

Hipaactl = Callable[..., Run]


def _get(server: SandboxServer, path: str) -> Any:
    reply = requests.get(server.url + path, auth=(ACCESS_KEY, SECRET_KEY), timeout=10)
    reply.raise_for_status()
    return reply.json()


def _agency_with_one_drift(tmp_path: Path) -> Path:
    """One account that meets the e2e config except for a longer idle timeout."""
    document = generate_agency(1, seed=1)
    account = document["accounts"][0]
    document["agency"]["security"]["idle_timeout_minutes"] = 30
    account["settings"].update(
        encrypted_recordings=True,
        encrypted_recording_storage=True,
        transcription_mode="secure",
        redaction_schedule="30_days",
    )
    for profile in account["call_settings"]:
        profile.update(
            inbound_recordings_on=True,
            outbound_recording_on=True,
            transcription=True,
            callerid_enabled=False,
            premium_callerid_enabled=False,
        )
    for notification in account["notifications"]:
        notification["fields"] = ["call_start"]
    account["users"].append(
        {"id": "USR999999", "uid": 999999, "email": "new.hire@e2e-clinic.example",
         "first_name": "New", "last_name": "Hire", "role": "agent", "status": "active"}
    )  # fmt: skip
    path = tmp_path / "agency.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_the_simulator_serves_the_real_shapes(start_server: StartServer) -> None:
    server = start_server(accounts=2, seed=3)
    listed = _get(server, "/accounts")["accounts"]
    assert listed and all("plan" not in account for account in listed)
    assert "plan" in _get(server, "/accounts/1001")
    users = _get(server, "/accounts/1001/users")["users"]
    assert all(isinstance(u["id"], str) and isinstance(u["uid"], int) for u in users)
    automators = _get(server, "/accounts/1001/triggers")["automators"]
    assert all("routing_rules" in t and "kind" not in t for t in automators)
    assert _get(server, "/accounts/1001/webhooks")["webhooks"]


def test_plan_apply_plan_converge(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    server = start_server(accounts=3, seed=3)
    config = str(write_config(tmp_path, server.url))
    first = hipaactl("-c", config, "plan", "--detailed-exitcode")
    applied = hipaactl("-c", config, "apply", "--auto-approve")
    again = hipaactl("-c", config, "plan", "--detailed-exitcode")
    assert first.code == 2, first.output
    assert applied.code == 0, applied.output
    assert again.code == 0 and "No changes" in again.stdout, again.output
    # Webhook receiver credentials never leave the mapping.
    assert not list(tmp_path.rglob("*.json")) or all(
        "sandbox-receiver-secret" not in p.read_text() for p in tmp_path.rglob("*.json*")
    )


def _failed_records(config: str) -> dict[str, str]:
    log = Path(config).parent / ".hipaactl" / "audit.jsonl"
    return {r["address"]: r["error"] for r in read_records(log) if r["result"] == "failed"}


def test_an_ignored_write_is_failed_and_the_change_log_agrees(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    state = _agency_with_one_drift(tmp_path)
    server = start_server(state=state, ignore_field="idle_timeout_minutes")
    config = str(write_config(tmp_path, server.url))
    applied = hipaactl("-c", config, "apply", "--auto-approve")
    assert applied.code == 1, applied.output
    assert re.search(r"failed\s+update agency\.security", applied.stdout, re.IGNORECASE)
    assert "Apply incomplete: 0 applied, 1 failed" in applied.stdout
    message = "the API accepted the write but idle_timeout_minutes is still 30"
    assert message in applied.stdout
    assert "hipaactl doctor" in applied.stdout
    failed = _failed_records(config)
    assert list(failed) == ["agency.security"]
    assert message in failed["agency.security"]
    assert "applied" not in {
        r["result"] for r in read_records(Path(config).parent / ".hipaactl" / "audit.jsonl")
    }


def test_a_200_with_an_error_body_is_failed_and_changes_nothing(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    state = _agency_with_one_drift(tmp_path)
    server = start_server(state=state, error_body_writes=True)
    before = server.simulator.backend.snapshot()
    config = str(write_config(tmp_path, server.url))
    applied = hipaactl("-c", config, "apply", "--auto-approve")
    assert applied.code == 1, applied.output
    assert "the reply says the request failed: the write was not accepted" in applied.stdout
    assert list(_failed_records(config)) == ["agency.security"]
    assert server.simulator.backend.snapshot() == before


def test_without_the_opt_in_nothing_is_written(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    server = start_server(accounts=3, seed=3)
    before = server.simulator.backend.snapshot()
    config = str(write_config(tmp_path, server.url, allow_inferred_writes=False))
    planned = hipaactl("-c", config, "plan")
    assert planned.code == 0 and "~ update agency.security" in planned.stdout  # shown as usual
    applied = hipaactl("-c", config, "apply", "--auto-approve")
    assert applied.code == 1
    assert "refusing to write to inferred endpoints" in applied.stderr
    assert "account_settings, agency_security, notifications" in applied.stderr
    assert "hipaactl doctor" in applied.stderr
    assert "Traceback" not in applied.output
    assert server.simulator.backend.snapshot() == before
    assert not (tmp_path / ".hipaactl" / "audit.jsonl").exists()
    assert not (tmp_path / ".hipaactl" / "audit.head").exists()


def test_an_unexpected_shape_names_endpoint_object_and_field(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    document = generate_agency(3, seed=3)
    accounts = {a["id"]: a for a in document["accounts"]}
    accounts[1001]["settings"]["redaction_schedule"] = "weekly"  # unknown value: kept
    accounts[1002]["numbers"][1]["number"] = 42  # not a string: a shape CTM never sends
    state = tmp_path / "agency.json"
    state.write_text(json.dumps(document), encoding="utf-8")
    server = start_server(state=state)
    config = str(write_config(tmp_path, server.url))
    planned = hipaactl("-c", config, "plan")
    # Numbers are read only: a list that can't be read is a manual action "could not
    # read …" naming it and why (SPEC section 5), and the rest is planned as usual.
    assert planned.code == 0, planned.output
    assert "Traceback" not in planned.output
    number_id = accounts[1002]["numbers"][1]["id"]
    assert (
        f"could not read account[1002].number: GET /accounts/1002/numbers: numbers item 1 "
        f"(id '{number_id}') has an unexpected 'number': 42"
    ) in planned.stdout
    assert "1 could not be read." in planned.stdout
    assert "error" not in planned.stderr
