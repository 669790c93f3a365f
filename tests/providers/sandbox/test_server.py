from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from hipaactl.errors import UsageError
from hipaactl.providers.ctm.credentials import Credentials
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.http import HttpTransport
from hipaactl.providers.ctm.mapping import CtmProvider
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import compliant_account, compliant_security
from hipaactl.providers.sandbox.server import (
    FAULT_STATUSES,
    ExpectedCredentials,
    FaultInjector,
    SandboxServer,
    SandboxServerError,
    ServeOptions,
    Simulator,
    SlidingWindow,
    option_problems,
    serving,
)
from tests.e2e.processes import serve_simulator

AUTH = "Basic " + base64.b64encode(b"access:secret").decode()
# What the servers started here accept, as `sandbox serve` reads them from its environment.
KEYS = {"CTM_ACCESS_KEY": "a", "CTM_SECRET_KEY": "b"}


class FakeClock:
    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def document(*account_ids: int) -> dict[str, Any]:
    accounts = [compliant_account(i, f"Clinic {i}") for i in account_ids or (1001,)]
    return {"agency": {"security": compliant_security()}, "accounts": accounts}


def simulator(**kwargs: Any) -> Simulator:
    backend = SandboxBackend(document(1001), base_url="http://127.0.0.1:9/api/v1")
    kwargs.setdefault("credentials", ExpectedCredentials("access", "secret"))
    return Simulator(backend, **kwargs)


def put_settings(sim: Simulator) -> int:
    body = json.dumps({"redaction_schedule": "daily"}).encode()
    return sim.respond("PUT", "/api/v1/accounts/1001/settings", AUTH, body).status


def redaction(sim: Simulator) -> str:
    account = sim.backend.snapshot()["accounts"][0]
    return str(account["settings"]["redaction_schedule"])


# ---- the request pipeline, without sockets -----------------------------------------------


def test_a_request_with_credentials_reaches_the_backend() -> None:
    reply = simulator().respond("GET", "/api/v1/accounts/1001/settings", AUTH, b"")
    assert reply.status == 200
    assert reply.body["transcription_mode"] == "secure"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer token",
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"access:").decode(),
        "Basic " + base64.b64encode(b":secret").decode(),
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
def test_missing_or_empty_credentials_get_401(authorization: str | None) -> None:
    sim = simulator()
    reply = sim.respond("GET", "/api/v1/accounts", authorization, b"")
    assert reply.status == 401
    assert reply.body == {"status": "error", "reason": "authentication required"}
    assert reply.headers["WWW-Authenticate"].startswith("Basic")
    assert sim.stats().unauthorized == 1


def test_expected_credentials_from_the_environment_must_match() -> None:
    expected = ExpectedCredentials.from_environ(
        {"CTM_ACCESS_KEY": "access", "CTM_SECRET_KEY": "s3cr3t"}
    )
    sim = simulator(credentials=expected)
    wrong = sim.respond("GET", "/api/v1/accounts", AUTH, b"")
    right_token = base64.b64encode(b"access:s3cr3t").decode()
    right = sim.respond("GET", "/api/v1/accounts", f"Basic {right_token}", b"")
    assert (wrong.status, right.status) == (401, 200)
    assert "s3cr3t" not in repr(expected)


def test_paths_outside_the_api_are_404_and_not_counted() -> None:
    sim = simulator()
    reply = sim.respond("GET", "/accounts", AUTH, b"")
    assert reply.status == 404
    assert "/api/v1" in reply.body["reason"]
    assert sim.stats().requests == 0


def test_a_body_that_is_not_json_is_400() -> None:
    reply = simulator().respond("PUT", "/api/v1/accounts/1001/settings", AUTH, b"{nope")
    assert reply.status == 400
    assert reply.body["status"] == "error"


def test_per_page_over_150_is_400() -> None:
    reply = simulator().respond("GET", "/api/v1/accounts?per_page=151", AUTH, b"")
    assert reply.status == 400


def test_a_reply_is_held_until_the_latency_after_its_request_arrived() -> None:
    clock, slept = FakeClock(), []
    sim = simulator(latency=0.05, sleep=slept.append, clock=clock)
    arrived = sim.now()
    clock.now += 0.01  # the simulator's own work counts toward the latency
    sim.hold(arrived, "/api/v1/accounts")
    clock.now += 0.2  # work slower than the latency: no wait on top
    sim.hold(arrived, "/api/v1/accounts/1001/settings")
    sim.hold(sim.now(), "/__stats")  # outside the API: never held
    assert slept == [pytest.approx(0.04)]


def test_over_http_the_latency_is_the_response_time() -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    def make(url: str) -> Simulator:
        backend = SandboxBackend(document(1001), base_url=url)
        credentials = ExpectedCredentials("access", "secret")
        return Simulator(backend, credentials=credentials, latency=0.05, sleep=sleep)

    with serve_simulator(make) as server:
        started = time.monotonic()
        reply = requests.get(f"{server.url}/accounts", headers={"Authorization": AUTH}, timeout=5)
        elapsed = time.monotonic() - started
    assert reply.status_code == 200
    assert elapsed >= 0.05
    assert len(waits) == 1 and 0 < waits[0] <= 0.05


def test_requests_over_the_rate_limit_get_429_with_retry_after() -> None:
    clock = FakeClock()
    sim = simulator(limiter=SlidingWindow(2, clock=clock))
    statuses = [sim.respond("GET", "/api/v1/accounts", AUTH, b"").status for _ in range(3)]
    clock.now += 0.4
    refused = sim.respond("GET", "/api/v1/accounts", AUTH, b"")
    assert statuses == [200, 200, 429]
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"  # whole seconds, at least 1
    assert sim.stats().rate_limited == 2
    assert sim.stats().requests == 4


def test_the_window_slides() -> None:
    clock = FakeClock()
    window = SlidingWindow(2, clock=clock)
    assert window.admit() is None
    clock.now += 0.5
    assert window.admit() is None
    assert window.admit() == pytest.approx(0.5)  # the first leaves the window in 0.5 s
    clock.now += 0.5
    assert window.admit() is None
    assert window.admit() == pytest.approx(0.5)


def test_faults_are_only_gateway_errors_drawn_from_the_seed() -> None:
    first = FaultInjector(0.5, seed=7)
    second = FaultInjector(0.5, seed=7)
    sequence = [first.draw() for _ in range(200)]
    assert sequence == [second.draw() for _ in range(200)]
    faults = [f for f in sequence if f is not None]
    assert {f.status for f in faults} <= set(FAULT_STATUSES)
    assert {f.timing for f in faults} == {"before", "after"}
    assert 60 < len(faults) < 140
    assert FaultInjector(0.0, seed=7).draw() is None


def test_a_fault_before_the_work_leaves_state_alone() -> None:
    sim = simulator(faults=FaultInjector(1.0, seed=0))
    outcomes = []
    for _ in range(40):
        before = redaction(sim)
        status = put_settings(sim)
        outcomes.append((status, before != redaction(sim)))
        sim.backend.handle("PUT", "/accounts/1001/settings", {}, {"redaction_schedule": "off"})
    stats = sim.stats()
    assert {status for status, _ in outcomes} <= set(FAULT_STATUSES)
    # Every "after" fault wrote; no "before" fault did.
    assert sum(wrote for _, wrote in outcomes) == stats.faults_after
    assert stats.faults_before > 0
    assert stats.faults_after > 0
    assert stats.faults == 40


def test_stats_are_served_outside_the_api_without_auth() -> None:
    sim = simulator()
    sim.respond("GET", "/api/v1/accounts", AUTH, b"")
    reply = sim.respond("GET", "/__stats", None, b"")
    assert reply.status == 200
    assert reply.body == {
        "requests": 1,
        "rate_limited": 0,
        "unauthorized": 0,
        "faults_before": 0,
        "faults_after": 0,
        "faults": 0,
        "by_endpoint": {"GET accounts": 1},
    }


# ---- options ------------------------------------------------------------------------------


def test_option_problems_are_all_reported() -> None:
    bad = ServeOptions(
        state=Path("s.json"),
        accounts=-1,
        port=70000,
        latency_ms=-1,
        rate_limit=0,
        fail_rate=1.5,
        page_cap=0,
    )
    problems = option_problems(bad)
    for flag in ("--state", "--port", "--accounts", "--latency-ms", "--rate-limit",
                 "--fail-rate", "--page-cap"):  # fmt: skip
        assert any(flag in p for p in problems), flag
    assert option_problems(ServeOptions()) == []
    with pytest.raises(UsageError, match="exclude each other"):
        serving(ServeOptions(state=Path("s.json"), accounts=3)).__enter__()


def test_an_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxServerError, match="cannot read the sandbox state"):
        serving(ServeOptions(state=tmp_path / "missing.json")).__enter__()
    bad = tmp_path / "bad.json"
    bad.write_text('{"agency": {}}', encoding="utf-8")
    with pytest.raises(SandboxServerError, match="not a sandbox document"):
        serving(ServeOptions(state=bad)).__enter__()


def test_a_taken_port_is_a_clear_error() -> None:
    with (
        serving(ServeOptions(accounts=1), environ=KEYS) as server,
        pytest.raises(SandboxServerError, match="cannot listen"),
        serving(ServeOptions(port=int(server.server_address[1]), accounts=1), environ=KEYS),
    ):
        pass  # pragma: no cover


# ---- over HTTP -----------------------------------------------------------------------------


@pytest.fixture
def paged_server() -> Iterator[SandboxServer]:
    with serving(ServeOptions(accounts=12, page_cap=5, seed=3), environ=KEYS) as server:
        yield server


def test_next_page_is_a_full_url_on_this_server(paged_server: SandboxServer) -> None:
    reply = requests.get(
        f"{paged_server.url}/accounts", params={"per_page": 10}, auth=("a", "b"), timeout=5
    )
    page = reply.json()
    assert reply.headers["Content-Type"] == "application/json"
    assert len(page["accounts"]) == 5  # the page cap, not the 10 asked for
    assert page["total_pages"] == 3
    assert page["next_page"].startswith(paged_server.url + "/accounts?")
    assert urlsplit(paged_server.url).port == paged_server.server_address[1]


def test_the_ctm_provider_reads_every_page(paged_server: SandboxServer) -> None:
    transport = HttpTransport(paged_server.url, Credentials("a", "b"))
    provider = CtmProvider(transport, EndpointTable({}))
    try:
        accounts = provider.list_accounts()
    finally:
        provider.close()
    assert [a.id for a in accounts] == list(range(1001, 1013))
    assert paged_server.stats().requests == 3


def test_writes_persist_to_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(document(1001, 1002)), encoding="utf-8")
    with serving(ServeOptions(state=state), environ=KEYS) as server:
        reply = requests.put(
            f"{server.url}/accounts/1002/settings",
            json={"redaction_schedule": "daily"},
            auth=("a", "b"),
            timeout=5,
        )
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert reply.status_code == 200
    assert saved["accounts"][1]["settings"]["redaction_schedule"] == "daily"


def test_without_state_the_default_seed_is_served_in_memory() -> None:
    with serving(ServeOptions(), environ=KEYS) as server:
        reply = requests.get(f"{server.url}/accounts", auth=("a", "b"), timeout=5)
    assert reply.status_code == 200
    assert reply.json()["total_entries"] > 0


def test_a_429_over_http_carries_retry_after() -> None:
    with serving(ServeOptions(accounts=1, rate_limit=1), environ=KEYS) as server:
        with requests.Session() as session:
            first = session.get(f"{server.url}/accounts", auth=("a", "b"), timeout=5)
            second = session.get(f"{server.url}/accounts", auth=("a", "b"), timeout=5)
        stats = requests.get(server.url.replace("/api/v1", "/__stats"), timeout=5).json()
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.headers["Retry-After"] == "1"
    assert stats["rate_limited"] == 1


# ---- the command: prints its URL, stops on SIGINT/SIGTERM ----------------------------------

SERVE = (
    "from hipaactl.commands.serve import ServeOptions, run_serve; "
    "raise SystemExit(run_serve(ServeOptions(accounts=2)))"
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_serve_prints_its_url_and_stops_cleanly(sig: signal.Signals) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CTM_")}, **KEYS}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        prefix = "Serving CTM-compatible sandbox on "
        assert line.startswith(prefix)
        url = line[len(prefix) :].strip()
        reply = requests.get(f"{url}/accounts", auth=("a", "b"), timeout=5)
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert reply.json()["total_entries"] == 2
    assert process.returncode == 0
    assert stdout == ""  # the URL line only; no per-request log lines
    assert "Sandbox stopped." in stderr
    assert "GET /" not in stderr
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/accounts", auth=("a", "b"), timeout=5)


def test_keys_with_latin1_characters_are_accepted_as_the_client_sends_them() -> None:
    keys = Credentials("accèss-ÿkey", "sécret-©®")
    sim = simulator(credentials=ExpectedCredentials(keys.access_key, keys.secret_key))

    reply = sim.respond("GET", "/api/v1/accounts", f"Basic {keys.basic_token()}", b"")

    assert reply.status == 200


@pytest.mark.parametrize("latency_ms", [float("inf"), float("nan"), -1.0])
def test_a_latency_that_is_not_a_finite_number_of_0_or_more_is_refused(latency_ms: float) -> None:
    problems = option_problems(ServeOptions(latency_ms=latency_ms))

    assert any("--latency-ms must be a finite number, 0 or more" in p for p in problems)
