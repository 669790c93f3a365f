"""hipaactl's SIGINT handlers raise ``Interrupted``, never a plain KeyboardInterrupt,
which CPython can turn into a SIGINT exit after the run reported exit 1 (see
``hipaactl.errors.Interrupted``; end to end in tests/e2e/test_interrupt_exit_status.py)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from hipaactl.cli import interrupts_raise_interrupted
from hipaactl.commands.apply import Interrupts, handling_interrupts
from hipaactl.errors import ApplyFailedError, Interrupted


@pytest.fixture(autouse=True)
def python_default_sigint() -> Iterator[None]:
    """Each test starts from Python's own SIGINT handler and leaves it in place."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_sigint_during_a_run_raises_interrupted_and_the_handler_is_put_back() -> None:
    with pytest.raises(Interrupted), interrupts_raise_interrupted():
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with interrupts_raise_interrupted():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)  # nothing happens
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_apply_before_its_first_change_raises_interrupted() -> None:
    with pytest.raises(Interrupted):
        Interrupts().handle(signal.SIGTERM, None)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_apply_interrupted_before_any_change_says_nothing_was_applied(
    signum: signal.Signals,
) -> None:
    sigterm = signal.getsignal(signal.SIGTERM)
    with pytest.raises(ApplyFailedError, match="nothing was applied"), handling_interrupts():
        signal.raise_signal(signum)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == sigterm


def test_an_interrupt_lost_before_the_first_change_stops_apply_there() -> None:
    interrupts = Interrupts()
    with pytest.raises(Interrupted):  # Python drops it when raised in a finalizer
        interrupts.handle(signal.SIGINT, None)
    with pytest.raises(Interrupted):
        interrupts.start_applying()
    assert not interrupts.applying
