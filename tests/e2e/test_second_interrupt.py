"""A second Ctrl-C forces an interrupted apply to exit at once (issue 16 item 6): it does
not wait out the grace period for a hung write, yet records that write ``unknown``,
writes the head, releases the lock and prints the report."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from hipaactl.apply.executor import INTERRUPT_GRACE_SECONDS
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import Simulator
from tests.e2e.conftest import write_config
from tests.e2e.processes import run_hipaactl, running, serve_simulator, wait_until
from tests.e2e.test_interrupt import HangingWrite, outcomes_by_address, report_counts


def test_a_second_interrupt_exits_without_waiting_and_records_what_is_open(
    tmp_path: Path,
) -> None:
    document = generate_agency(4, seed=7)  # account 1003's settings need a change
    release = threading.Event()

    def hang_1003_settings(url: str) -> Simulator:
        return HangingWrite(
            SandboxBackend(document, base_url=url), "/accounts/1003/settings", release
        )

    with serve_simulator(hang_1003_settings) as server:
        simulator = server.simulator
        assert isinstance(simulator, HangingWrite)
        config = str(write_config(tmp_path, server.url, rate_limit=1000, parallelism=4))
        try:
            with running("-c", config, "apply", "--auto-approve", cwd=tmp_path) as apply:
                wait_until(simulator.hung.is_set, timeout=20, what="the write to hang")
                apply.signal(signal.SIGINT)
                time.sleep(0.1)  # the first interrupt is handled before the second
                apply.signal(signal.SIGINT)
                signalled = time.monotonic()
                interrupted = apply.finish(timeout=INTERRUPT_GRACE_SECONDS + 4)
                exit_seconds = time.monotonic() - signalled
            unlocked = not (tmp_path / ".hipaactl" / "lock.info").exists()
            verify = run_hipaactl("-c", config, "audit", "verify", cwd=tmp_path)
        finally:
            release.set()

    assert interrupted.code == 1, interrupted.output
    assert exit_seconds < INTERRUPT_GRACE_SECONDS / 2, exit_seconds
    assert "Interrupted again: not waiting" in interrupted.stderr
    assert report_counts(interrupted.stdout)["unknown"] == 1
    assert unlocked
    assert verify.code == 0, verify.output
    log = outcomes_by_address(tmp_path / ".hipaactl" / "audit.jsonl")
    assert log["account[1003].settings"] == ["started", "unknown"]
