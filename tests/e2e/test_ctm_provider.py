"""The ``ctm`` provider end to end: the real CLI against ``sandbox serve`` over HTTP."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hipaactl.model.changes import Change
from hipaactl.providers.ctm.credentials import Credentials
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.http import HttpTransport
from hipaactl.providers.ctm.mapping import CtmProvider
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import (
    ExpectedCredentials,
    Fault,
    FaultInjector,
    FaultTiming,
    SandboxServer,
    Simulator,
)
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY, Run, StartServer, write_config

Hipaactl = Callable[..., Run]
NO_CHANGES = "No changes"


def test_plan_apply_converges_despite_faults(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    # One worker, so the seeded faults hit the same requests on every run.
    server = start_server(accounts=4, seed=11, fail_rate=0.2, rate_limit=100)
    config = str(write_config(tmp_path, server.url, rate_limit=100, parallelism=1))

    first = hipaactl("-c", config, "plan", "--detailed-exitcode")
    applied = hipaactl("-c", config, "apply", "--auto-approve")
    again = hipaactl("-c", config, "plan", "--detailed-exitcode")

    assert first.code == 2, first.output
    assert 'account[1001].user["new.hire@e2e-clinic.example"]' in first.stdout
    assert applied.code == 0, applied.output
    assert again.code == 0, again.output
    assert NO_CHANGES in again.stdout
    stats = server.stats()
    assert stats.faults_before > 0
    assert stats.faults_after > 0  # writes that happened but answered 5xx
    assert stats.rate_limited == 0  # the client's limiter stays under the server's
    users = server.simulator.backend.snapshot()["accounts"][0]["users"]
    created = [u for u in users if u["email"] == "new.hire@e2e-clinic.example"]
    assert len(created) == 1  # a POST whose reply was lost was not repeated


def test_parallel_plan_stays_under_the_rate_limit(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    server = start_server(accounts=6, seed=5, rate_limit=60, page_cap=2)
    config = str(write_config(tmp_path, server.url, rate_limit=60, parallelism=4))

    result = hipaactl("-c", config, "plan")

    assert result.code == 0, result.output
    assert "account[1006]" in result.stdout  # pages capped at 2 were all followed
    assert server.stats().rate_limited == 0


@pytest.mark.parametrize("command", [["plan"], ["plan", "--detailed-exitcode"]])
def test_faults_that_outlast_the_retries_are_an_error_not_no_changes(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl, command: list[str]
) -> None:
    server = start_server(accounts=2, fail_rate=1.0)
    config = str(write_config(tmp_path, server.url))

    result = hipaactl("-c", config, *command)

    assert result.code == 1
    assert "GET /accounts" in result.stderr  # names what could not be read
    assert "gave up after" in result.stderr
    assert NO_CHANGES not in result.output


def test_refused_credentials_are_an_error_that_names_the_variables(
    tmp_path: Path,
    start_server: StartServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = start_server(
        accounts=1, environ={"CTM_ACCESS_KEY": "right", "CTM_SECRET_KEY": "right-secret"}
    )
    config = str(write_config(tmp_path, server.url))
    monkeypatch.setenv("CTM_ACCESS_KEY", "right")
    monkeypatch.setenv("CTM_SECRET_KEY", "wr0ng-KEY-9999")

    result = hipaactl("-c", config, "plan")

    assert result.code == 1
    assert "CTM_SECRET_KEY" in result.stderr
    assert "wr0ng-KEY-9999" not in result.output
    assert NO_CHANGES not in result.output


SECRET = "s3cr3t-KEY-4242"
ACCESS = "acc3ss-KEY-1717"


def secret_forms() -> tuple[str, ...]:
    token = base64.b64encode(f"{ACCESS}:{SECRET}".encode()).decode()
    return SECRET, ACCESS, token


def test_the_credentials_appear_nowhere(
    tmp_path: Path,
    start_server: StartServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = start_server(
        accounts=3,
        seed=2,
        fail_rate=0.1,
        environ={"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": SECRET},
    )
    config = str(write_config(tmp_path, server.url, parallelism=1))
    monkeypatch.setenv("CTM_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("CTM_SECRET_KEY", SECRET)
    plan_file = str(tmp_path / "plan.json")

    runs = [
        hipaactl("-c", config, "plan", "-o", plan_file),
        hipaactl("-c", config, "plan", "--json"),
        hipaactl("-c", config, "show", plan_file),
        hipaactl("-c", config, "show", "--json", plan_file),
        hipaactl("-c", config, "apply", plan_file),
        hipaactl("-c", config, "plan", "--detailed-exitcode"),
        hipaactl("--debug", "-c", config, "plan", "--target", "account[4242]"),
    ]

    assert [r.code for r in runs[:6]] == [0, 0, 0, 0, 0, 0], [r.output for r in runs]
    assert runs[6].code == 1  # an error path too
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "hipaa.toml"]
    assert any(".hipaactl" in p.parts for p in files)  # the audit log was written
    for form in secret_forms():
        for run in runs:
            assert form not in run.output
        for path in files:
            assert form not in path.read_text(encoding="utf-8", errors="replace"), path


class ScriptedFaults(FaultInjector):
    """Faults in a given order, then none."""

    def __init__(self, *faults: Fault) -> None:
        super().__init__(0.0, seed=0)
        self._script = list(faults)

    def draw(self) -> Fault | None:
        return self._script.pop(0) if self._script else None


@contextmanager
def scripted_server(*faults: Fault) -> Iterator[SandboxServer]:
    document = generate_agency(1, seed=1)

    def make_simulator(url: str) -> Simulator:
        backend = SandboxBackend(document, base_url=url)
        return Simulator(
            backend,
            credentials=ExpectedCredentials(ACCESS_KEY, SECRET_KEY),
            faults=ScriptedFaults(*faults),
        )

    server = SandboxServer("127.0.0.1", 0, make_simulator)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


NEW_USER = Change(
    address='account[1001].user["late.reply@e2e-clinic.example"]',
    resource_type="user",
    action="create",
    after={"email": "late.reply@e2e-clinic.example", "first_name": "Late",
           "last_name": "Reply", "role": "agent"},
    account_id=1001,
)  # fmt: skip


@pytest.mark.parametrize(
    ("timing", "posts"),
    [("after", 1), ("before", 2)],  # after: created, reply lost; before: nothing created
)
def test_a_post_with_a_lost_reply_is_re_read_and_never_creates_twice(
    timing: FaultTiming, posts: int
) -> None:
    with scripted_server(Fault(502, timing)) as server:
        transport = HttpTransport(server.url, Credentials(ACCESS_KEY, SECRET_KEY))
        provider = CtmProvider(transport, EndpointTable({}))
        try:
            provider.apply_change(NEW_USER)
            users = provider.read_users(1001)
        finally:
            provider.close()
    matching = [u for u in users if u.key == "late.reply@e2e-clinic.example"]
    assert len(matching) == 1
    # The POST, the re-read of users, a second POST only when the first did nothing,
    # the re-read that verifies the create, and the final read above.
    assert server.stats().requests == posts + 3
