"""SIGINT while the last change of an apply is in flight (SPEC section 6): the change
finishes in the grace period, so every change was applied; the report says so and the
exit code is that of a complete apply (0), not "interrupted" (1). Through the real CLI
and the embedded sandbox, with a real signal delivered while the write is on its way."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from hipaactl.commands.apply import Interrupts
from hipaactl.model.changes import Change
from hipaactl.providers.ctm.mapping import CtmProvider
from tests.conftest import CliRunner

TARGET = "agency.security"


def test_an_interrupt_during_the_last_change_reports_every_change_applied(
    clinic: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled = threading.Event()
    original_handle = Interrupts.handle
    original_apply = CtmProvider.apply_change

    def handle(self: Interrupts, signum: int, frame: object) -> None:
        original_handle(self, signum, None)
        handled.set()

    def apply_change(self: CtmProvider, change: Change) -> None:
        # The interrupt arrives, and is handled, while this write is on its way.
        os.kill(os.getpid(), signal.SIGINT)
        assert handled.wait(timeout=5), "the SIGINT handler did not run"
        original_apply(self, change)

    with monkeypatch.context() as patched:
        patched.setattr(Interrupts, "handle", handle)
        patched.setattr(CtmProvider, "apply_change", apply_change)
        result = cli("apply", "--auto-approve", "--target", TARGET)

    assert "Interrupted: starting no new change" in result.err
    assert f"applied     update {TARGET}" in result.out, result.out
    assert (
        "Apply interrupted, but its one change was applied: 1 applied, 0 failed, 0 skipped, "
        "0 not started, 0 unknown." in result.out
    ), result.out
    assert result.code == 0, result.err
    after = cli("plan", "--detailed-exitcode", "--target", TARGET)
    assert after.code == 0, after.out
    assert cli("audit", "verify").code == 0
