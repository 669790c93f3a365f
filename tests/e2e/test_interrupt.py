"""An apply interrupted mid-way (SPEC section 6): SIGINT or SIGTERM against ``sandbox
serve`` with latency. It starts no new change, exits 1 within the grace period with
the report, leaves a change log that verifies and a released lock, and a second apply
converges."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hipaactl.apply.executor import INTERRUPT_GRACE_SECONDS
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import ExpectedCredentials, Response, Simulator
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY, write_config
from tests.e2e.processes import (
    count_records,
    read_records,
    run_hipaactl,
    running,
    serve,
    serve_simulator,
    wait_until,
)

NEW_USER = "new.hire@e2e-clinic.example"
# The grace period is 5 s; in-flight writes here take tens of milliseconds.
EXIT_SECONDS = 6.0
COUNTS = re.compile(
    r"Apply interrupted: (\d+) applied, (\d+) failed, (\d+) skipped, "
    r"(\d+) not started, (\d+) unknown\."
)
HEAD_LINE = re.compile(r"audit head: (\d+) records, sha256 ([0-9a-f]{64})")


def report_counts(stdout: str) -> dict[str, int]:
    match = COUNTS.search(stdout)
    assert match is not None, stdout
    names = ("applied", "failed", "skipped", "not_started", "unknown")
    return dict(zip(names, map(int, match.groups()), strict=True))


def outcomes_by_address(log: Path) -> dict[str, list[str]]:
    """Each address's results in log order."""
    results: dict[str, list[str]] = {}
    for record in read_records(log):
        results.setdefault(record["address"], []).append(record["result"])
    return results


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_apply_stops_cleanly_and_a_second_apply_converges(
    tmp_path: Path, signum: signal.Signals
) -> None:
    log = tmp_path / ".hipaactl" / "audit.jsonl"
    # 12 accounts of about three changes each; every request takes 25 ms.
    with serve("--accounts", "12", "--latency-ms", "25", "--seed", "7") as sandbox:
        config = str(write_config(tmp_path, sandbox.url, rate_limit=1000, parallelism=4))
        with running("-c", config, "apply", "--auto-approve", cwd=tmp_path) as apply:
            wait_until(
                lambda: count_records(log) >= 6 or not apply.running(),
                timeout=20,
                what="the apply to start writing",
            )
            assert apply.running(), apply.finish().output  # still mid-way
            apply.signal(signum)
            signalled = time.monotonic()
            interrupted = apply.finish(timeout=EXIT_SECONDS + 4)
            exit_seconds = time.monotonic() - signalled
        locked_after = (tmp_path / ".hipaactl" / "lock.info").exists()
        verify = run_hipaactl("-c", config, "audit", "verify", cwd=tmp_path)
        results = outcomes_by_address(log)
        head = json.loads((tmp_path / ".hipaactl" / "audit.head").read_text())
        written = {"records": count_records(log), "hash": read_records(log)[-1]["hash"]}
        again = run_hipaactl("-c", config, "apply", "--auto-approve", cwd=tmp_path)
        final = run_hipaactl("-c", config, "plan", "--detailed-exitcode", cwd=tmp_path)
        new_users = [u for u in sandbox.users(1001) if u["email"] == NEW_USER]
        final_verify = run_hipaactl("-c", config, "audit", "verify", cwd=tmp_path)

    assert interrupted.code == 1, interrupted.output
    assert exit_seconds < EXIT_SECONDS
    assert "Interrupted: starting no new change" in interrupted.stderr
    counts = report_counts(interrupted.stdout)
    assert counts["applied"] > 0 and counts["not_started"] > 0, counts
    assert counts["failed"] == counts["skipped"] == 0, counts
    assert "Apply complete" not in interrupted.stdout
    assert "No changes" not in interrupted.output
    # The change log: every write started has one outcome, and the log ends at its head.
    assert verify.code == 0, verify.output
    assert all(r[0] == "started" and len(r) == 2 for r in results.values()), results
    assert sum(r[1] == "applied" for r in results.values()) == counts["applied"]
    assert sum(r[1] == "unknown" for r in results.values()) == counts["unknown"]
    printed = HEAD_LINE.search(interrupted.stderr)
    assert printed is not None, interrupted.stderr
    assert (int(printed[1]), printed[2]) == (head["records"], head["hash"])
    assert head == written
    # The lock is released: its details are gone and the next apply takes it.
    assert not locked_after
    assert again.code == 0, again.output
    assert "Apply complete" in again.stdout
    assert final.code == 0, final.output
    assert "No changes" in final.stdout
    assert len(new_users) == 1
    assert final_verify.code == 0, final_verify.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_apply_interrupted_while_reading_live_state_changes_nothing_and_unlocks(
    tmp_path: Path, signum: signal.Signals
) -> None:
    lock_info = tmp_path / ".hipaactl" / "lock.info"
    log = tmp_path / ".hipaactl" / "audit.jsonl"
    # The lock is taken before live state is read, which takes several 150 ms rounds.
    with serve("--accounts", "4", "--latency-ms", "150", "--seed", "7") as sandbox:
        config = str(write_config(tmp_path, sandbox.url, rate_limit=1000, parallelism=4))
        with running("-c", config, "apply", "--auto-approve", cwd=tmp_path) as apply:
            wait_until(
                lambda: lock_info.exists() or not apply.running(),
                timeout=20,
                what="the apply to take the lock",
            )
            apply.signal(signum)
            signalled = time.monotonic()
            interrupted = apply.finish(timeout=EXIT_SECONDS + 4)
            exit_seconds = time.monotonic() - signalled
        unlocked = not lock_info.exists()
        again = run_hipaactl("-c", config, "plan", "--detailed-exitcode", cwd=tmp_path)

    assert interrupted.code == 1, interrupted.output
    assert exit_seconds < EXIT_SECONDS
    assert "interrupted before any change was made; nothing was applied" in interrupted.stderr
    assert "Apply" not in interrupted.stdout
    assert unlocked
    assert not log.exists()  # no write was started, so none is documented
    assert again.code == 2, again.output  # the changes are all still to be made


class HangingWrite(Simulator):
    """Holds the first PUT to ``path`` until ``release`` is set, then does it: a write
    whose outcome the client cannot know in time."""

    def __init__(self, backend: SandboxBackend, path: str, release: threading.Event) -> None:
        super().__init__(backend, credentials=ExpectedCredentials(ACCESS_KEY, SECRET_KEY))
        self.path = path
        self.release = release
        self.hung = threading.Event()

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        hangs = method == "PUT" and urlsplit(target).path.endswith(self.path)
        if hangs and not self.hung.is_set():
            self.hung.set()
            self.release.wait(timeout=30)
        return super().respond(method, target, authorization, body)


def test_a_write_hung_past_the_grace_period_is_unknown_and_the_process_still_exits(
    tmp_path: Path,
) -> None:
    document = generate_agency(4, seed=7)  # account 1003's settings need a change
    release = threading.Event()

    def hang_1003_settings(url: str) -> Simulator:
        backend = SandboxBackend(document, base_url=url)
        return HangingWrite(backend, "/accounts/1003/settings", release)

    with serve_simulator(hang_1003_settings) as server:
        simulator = server.simulator
        assert isinstance(simulator, HangingWrite)
        config = str(write_config(tmp_path, server.url, rate_limit=1000, parallelism=4))
        try:
            with running("-c", config, "apply", "--auto-approve", cwd=tmp_path) as apply:
                wait_until(simulator.hung.is_set, timeout=20, what="the write to hang")
                apply.signal(signal.SIGTERM)
                signalled = time.monotonic()
                interrupted = apply.finish(timeout=EXIT_SECONDS + 4)
                exit_seconds = time.monotonic() - signalled
            unlocked = not (tmp_path / ".hipaactl" / "lock.info").exists()
            verify = run_hipaactl("-c", config, "audit", "verify", cwd=tmp_path)
        finally:
            release.set()  # the server finishes the write after the client gave up
        again = run_hipaactl("-c", config, "apply", "--auto-approve", cwd=tmp_path)
        final = run_hipaactl("-c", config, "plan", "--detailed-exitcode", cwd=tmp_path)

    assert interrupted.code == 1, interrupted.output
    assert INTERRUPT_GRACE_SECONDS - 0.5 < exit_seconds < EXIT_SECONDS, exit_seconds
    assert "UNKNOWN     update account[1003].settings: outcome unknown — run plan" in (
        interrupted.stdout
    )
    counts = report_counts(interrupted.stdout)
    assert counts["unknown"] == 1 and counts["applied"] > 0, counts
    assert counts["failed"] == counts["skipped"] == 0, counts
    assert unlocked
    assert verify.code == 0, verify.output
    assert outcomes_by_address(tmp_path / ".hipaactl" / "audit.jsonl")[
        "account[1003].settings"
    ] == ["started", "unknown"]
    assert again.code == 0, again.output
    assert final.code == 0, final.output


class HangingReads(Simulator):
    """Lists accounts, then holds every read of an account until ``release`` is set: a
    server that stops answering while plan reads live state."""

    def __init__(self, backend: SandboxBackend, release: threading.Event) -> None:
        super().__init__(backend, credentials=ExpectedCredentials(ACCESS_KEY, SECRET_KEY))
        self.release = release
        self.hung = threading.Event()

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        if re.search(r"/accounts/\d+", urlsplit(target).path):
            self.hung.set()
            self.release.wait(timeout=60)
        return super().respond(method, target, authorization, body)


@pytest.mark.parametrize("command", ["plan", "check"])
def test_an_interrupt_ends_a_read_at_once_when_the_server_stops_answering(
    tmp_path: Path, command: str
) -> None:
    # The reads in flight used to be waited for, through their 30 s timeouts and retries
    # (over three minutes), before the interrupt was reported.
    release = threading.Event()

    def hang_reads(url: str) -> Simulator:
        return HangingReads(SandboxBackend(generate_agency(4, seed=7), base_url=url), release)

    with serve_simulator(hang_reads) as server:
        simulator = server.simulator
        assert isinstance(simulator, HangingReads)
        config = str(write_config(tmp_path, server.url, rate_limit=1000, parallelism=4))
        try:
            with running("-c", config, command, cwd=tmp_path) as reading:
                wait_until(simulator.hung.is_set, timeout=20, what="a read to hang")
                reading.signal(signal.SIGINT)
                signalled = time.monotonic()
                interrupted = reading.finish(timeout=10)
                exit_seconds = time.monotonic() - signalled
        finally:
            release.set()

    assert interrupted.code == 1, interrupted.output
    assert "interrupted" in interrupted.stderr
    assert exit_seconds < 5.0, exit_seconds  # was over 30 s: one read timeout at least
