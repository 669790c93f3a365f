"""The nightly drift job of the GitOps recipes, end to end against ``sandbox serve``.

Converge with apply, then change live state behind hipaactl's back (the way someone
would in CTM's UI: straight through the API), then run the nightly sequence —
``plan --detailed-exitcode --notify URL`` and ``check --notify URL`` — and read what a
local webhook received: the drifted addresses, and no email address anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hipaactl.providers.sandbox.server import SandboxServer
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY, Run, StartServer, write_config
from tests.webhook import Receiver, receiving

Hipaactl = Callable[..., Run]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PSEUDONYMISED_USER = re.compile(r"^account\[1001\]\.user\[h:[0-9a-f]{12}\]$")
TIMEOUT = 5.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


@pytest.fixture
def converged(
    tmp_path: Path,
    start_server: StartServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[SandboxServer, str]:
    """A served agency that matches its ``ctm`` config: plan shows no changes."""
    monkeypatch.setenv("HIPAACTL_HASH_KEY", "nightly-test-key")
    monkeypatch.setenv("HIPAACTL_RUN_URL", "https://ci.example/runs/42")
    monkeypatch.delenv("HIPAACTL_NOTIFY_URL", raising=False)
    server = start_server(accounts=2, seed=3)
    config = str(write_config(tmp_path, server.url))
    applied = hipaactl("-c", config, "apply", "--auto-approve")
    assert applied.code == 0, applied.output
    settled = hipaactl("-c", config, "plan", "--detailed-exitcode")
    assert settled.code == 0, settled.output
    return server, config


def _api(server: SandboxServer, method: str, path: str, body: Any = None) -> Any:
    reply = requests.request(
        method, server.url + path, json=body, auth=(ACCESS_KEY, SECRET_KEY), timeout=TIMEOUT
    )
    reply.raise_for_status()
    return reply.json()


def drift_behind_the_back(server: SandboxServer) -> str:
    """Weaken the agency's idle logout and promote a user, as someone in CTM's UI might;
    returns the promoted user's email."""
    _api(server, "PUT", "/agency/security", {"idle_timeout_minutes": 60})
    users = _api(server, "GET", "/accounts/1001/users", {"per_page": 150})
    # A user hipaa.toml declares (others are left alone in additive mode).
    user = next(u for u in users["users"] if u["email"] == "new.hire@e2e-clinic.example")
    _api(server, "PUT", f"/accounts/1001/users/{user['id']}", {"role": "admin"})
    return str(user["email"])


def test_nightly_plan_alerts_on_drift_without_personal_data(
    converged: tuple[SandboxServer, str], hipaactl: Hipaactl, receiver: Receiver
) -> None:
    server, config = converged
    email = drift_behind_the_back(server)

    result = hipaactl("-c", config, "plan", "--detailed-exitcode", "--notify", receiver.url)

    assert result.code == 2, result.output
    assert receiver.url not in result.output
    (summary,) = receiver.bodies
    assert summary["source"] == "hipaactl plan" and summary["status"] == "drift"
    assert summary["run_url"] == "https://ci.example/runs/42"
    drifted = {c["address"]: c["action"] for c in summary["changes"]}
    users = [a for a in drifted if "user[" in a]
    assert drifted.pop("agency.security") == "update"
    assert len(users) == 1 and PSEUDONYMISED_USER.match(users[0])
    assert drifted == {users[0]: "update"}
    assert summary["counts"]["change"] == 2
    text = json.dumps(summary)
    assert not EMAIL.search(text) and email not in text


def test_nightly_check_alerts_on_the_rule_the_drift_broke(
    converged: tuple[SandboxServer, str], hipaactl: Hipaactl, receiver: Receiver
) -> None:
    server, config = converged
    before = hipaactl("-c", config, "check", "--format", "json", "--notify", receiver.url)
    drift_behind_the_back(server)

    after = hipaactl("-c", config, "check", "--format", "json", "--notify", receiver.url)

    # No attestations in the e2e config: the BAA waits for one (manual), so exit 3 both
    # times; the drift adds the idle-logout failure.
    assert (before.code, after.code) == (3, 3), after.output
    first, second = receiver.bodies
    failed_before = {(f["rule_id"], f["address"]) for f in first["failed"]}
    failed_after = {(f["rule_id"], f["address"]) for f in second["failed"]}
    assert failed_after - failed_before == {("CTM-SEC-01", "agency.security")}
    assert second["source"] == "hipaactl check" and second["exit_code"] == 3
    assert second["counts"] == json.loads(after.stdout)["summary"]
    assert not EMAIL.search(json.dumps(receiver.bodies))


def test_nightly_alerts_name_no_url_and_a_failed_post_keeps_the_exit_code(
    converged: tuple[SandboxServer, str], hipaactl: Hipaactl, receiver: Receiver
) -> None:
    server, config = converged
    drift_behind_the_back(server)
    receiver.status = 503

    plan = hipaactl("-c", config, "plan", "--detailed-exitcode", "--notify", receiver.url)
    check = hipaactl("-c", config, "check", "--notify", f"slack:{receiver.url}")

    assert (plan.code, check.code) == (2, 3)
    for run in (plan, check):
        assert "notification failed: the webhook answered HTTP 503" in run.stderr
        assert receiver.url not in run.output
    assert len(receiver.bodies) == 2
    assert not EMAIL.search(json.dumps(receiver.bodies))
