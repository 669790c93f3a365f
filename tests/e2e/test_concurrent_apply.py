"""Two applies started together on one working directory (SPEC section 6, the lock):
exactly one runs; the other exits 1 at once naming the holder."""

from __future__ import annotations

import re
import time
from pathlib import Path

from hipaactl.apply.audit_log import user_at_host
from tests.e2e.conftest import write_config
from tests.e2e.processes import (
    POLL_SECONDS,
    RUN_TIMEOUT_SECONDS,
    Child,
    child_environment,
    run_hipaactl,
    running,
    serve,
)

ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def first_to_exit(children: list[Child]) -> tuple[Child, bool]:
    """The child that exits first, and whether the others were all still running then."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for child in children:
            if not child.running():
                return child, all(other.running() for other in children if other is not child)
        time.sleep(POLL_SECONDS)
    raise AssertionError("neither apply exited")


def test_two_applies_at_once_one_runs_and_the_other_fails_at_once(tmp_path: Path) -> None:
    # Latency makes the winner's plan-and-apply take over a second.
    with serve("--accounts", "8", "--latency-ms", "40", "--seed", "3") as sandbox:
        config = str(write_config(tmp_path, sandbox.url, parallelism=2))
        apply = ("-c", config, "apply", "--auto-approve")
        with running(*apply, cwd=tmp_path) as one, running(*apply, cwd=tmp_path) as two:
            loser_child, other_still_running = first_to_exit([one, two])
            winner_child = two if loser_child is one else one
            loser = loser_child.finish()
            winner = winner_child.finish()
        again = run_hipaactl("-c", config, "plan", "--detailed-exitcode", cwd=tmp_path)

    assert loser.code == 1, loser.output
    assert other_still_running  # "at once": it did not wait for the winner
    holder = re.escape(user_at_host(child_environment()))
    assert re.search(
        rf"{holder} \(pid {winner_child.pid}\) since {ISO_TIME}, running 'hipaactl apply'",
        loser.stderr,
    ), loser.stderr
    assert "Apply" not in loser.stdout  # it planned and applied nothing
    assert winner.code == 0, winner.output
    assert "Apply complete" in winner.stdout
    assert again.code == 0, again.output
    assert "No changes" in again.stdout
    assert not (tmp_path / ".hipaactl" / "lock.info").exists()
