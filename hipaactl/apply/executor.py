"""Apply a plan: ordering, per-account concurrency, dependencies, results, interruption."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hipaactl.errors import HipaactlError, UncertainWriteError
from hipaactl.model.changes import Change
from hipaactl.providers.base import Provider

Outcome = Literal["applied", "failed", "skipped", "not_started", "unknown"]
OUTCOMES: tuple[Outcome, ...] = ("applied", "failed", "skipped", "not_started", "unknown")
# In-flight changes get this long to finish after an interrupt (SPEC section 6).
INTERRUPT_GRACE_SECONDS = 5.0

# SPEC section 6: agency settings, then account settings, then call settings, then users
# and notifications, so encryption is on before a profile starts recording.
_PHASES = {
    "agency.security": 0,
    "settings": 1,
    "call_settings": 2,
    "user": 3,
    "notification": 3,
    "trigger": 3,
}


def execution_order(change: Change) -> tuple[int, int, str]:
    """The sort key of a change within its account: phase, then creates and updates
    (role updates included) before deletes, so an account never drops to no admin
    mid-apply, then address."""
    return (_PHASES.get(change.resource_type, 4), change.action == "delete", change.address)


@dataclass(frozen=True)
class ChangeResult:
    change: Change
    outcome: Outcome
    reason: str | None = None


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[ChangeResult, ...]
    interrupted: bool = False

    @property
    def succeeded(self) -> bool:
        """Whether every change was applied. An interrupt that came while the last
        changes were in flight, and let them all finish, still leaves a complete apply
        (SPEC section 6: exit 1 only when some change is not applied)."""
        return all(r.outcome == "applied" for r in self.results)

    def count(self, outcome: Outcome) -> int:
        """How many changes ended with ``outcome``."""
        return sum(1 for r in self.results if r.outcome == outcome)


class ApplyRecorder(Protocol):
    """Documents each write (the change log): before it starts and once it ends."""

    def started(self, change: Change) -> None:
        """Called before the change's write is sent; raising stops that change."""

    def finished(self, change: Change, outcome: Outcome, error: str | None) -> None:
        """Called once per change with its outcome and the error text, if any."""


class NullRecorder:
    def started(self, change: Change) -> None:
        """Record nothing."""
        return None

    def finished(self, change: Change, outcome: Outcome, error: str | None) -> None:
        """Record nothing."""
        return None


@dataclass
class _Ledger:
    """Shared, locked bookkeeping of every change's state during one apply."""

    planned: set[str]
    outcomes: dict[str, ChangeResult] = field(default_factory=dict)
    running: dict[str, Change] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False  # the report is made: nothing more starts or is logged

    def record(self, result: ChangeResult) -> None:
        """The outcome of a change that was never started (so never logged)."""
        with self.lock:
            self.outcomes.setdefault(result.change.address, result)

    def blocked_by(self, change: Change) -> str | None:
        """Why ``change`` can't run: a dependency outside the plan or not applied."""
        for dependency in change.depends_on:
            if dependency not in self.planned:
                return f"depends on {dependency}, which is outside --target"
            with self.lock:
                result = self.outcomes.get(dependency)
            if result is None or result.outcome != "applied":
                state = result.outcome.replace("_", " ") if result else "not started"
                return f"depends on {dependency}, which was {state}"
        return None


@dataclass
class _Run:
    provider: Provider
    recorder: ApplyRecorder
    ledger: _Ledger
    stop: threading.Event

    def apply_one(self, change: Change) -> None:
        if self.stop.is_set():  # after an interrupt nothing starts, dependent or not
            self.ledger.record(ChangeResult(change, "not_started", "apply was interrupted"))
            return
        blocked = self.ledger.blocked_by(change)
        if blocked is not None:
            self.ledger.record(ChangeResult(change, "skipped", blocked))
            return
        if not self.start(change):
            return
        try:
            self.provider.apply_change(change)
        except UncertainWriteError as exc:
            self.settle(change, "unknown", str(exc), f"outcome unknown — run plan: {exc}")
        except HipaactlError as exc:
            self.settle(change, "failed", str(exc), str(exc))
        except Exception as exc:  # a bug, not an API answer: the write may have been made
            error = f"unexpected error: {type(exc).__name__}: {exc}"
            self.settle(change, "unknown", error, f"outcome unknown — run plan: {error}")
        else:
            self.settle(change, "applied", None, None)

    def start(self, change: Change) -> bool:
        """Log the start of ``change`` and mark it running; False (and its outcome
        recorded) when it must not start: after a stop, or when the log can't say so."""
        with self.ledger.lock:
            if self.stop.is_set() or self.ledger.closed:
                self.ledger.outcomes.setdefault(
                    change.address, ChangeResult(change, "not_started", "apply was interrupted")
                )
                return False
            try:
                self.recorder.started(change)
            except HipaactlError as exc:
                # A write the change log can't document is not made.
                reason = f"the change log could not record its start: {exc}"
                self.ledger.outcomes[change.address] = ChangeResult(change, "not_started", reason)
                return False
            self.ledger.running[change.address] = change
            return True

    def settle(
        self, change: Change, outcome: Outcome, error: str | None, reason: str | None
    ) -> None:
        """Log a started change's outcome and report the same one. Under the ledger's
        lock, so an interrupt's report can't call it ``unknown`` between the two; a
        change the report already called ``unknown`` keeps that outcome (its log record
        says so too)."""
        with self.ledger.lock:
            if change.address in self.ledger.outcomes:
                return
            try:
                self.recorder.finished(change, outcome, error)
            except HipaactlError as exc:
                # The log ends at "started": the outcome is unknown to it, and so to us.
                reason = (
                    f"outcome unknown — the API answered {outcome.replace('_', ' ')}, but "
                    f"the change log could not record it: {exc}"
                )
                outcome = "unknown"
            self.ledger.running.pop(change.address, None)
            self.ledger.outcomes[change.address] = ChangeResult(change, outcome, reason)

    def apply_sequence(self, changes: Sequence[Change]) -> None:
        for change in changes:
            self.apply_one(change)


def group_by_account(changes: Sequence[Change]) -> list[list[Change]]:
    """The changes in one list per account, each in execution order; accounts by id and
    the agency-wide changes (no account) last.
    """
    groups: dict[int | None, list[Change]] = {}
    for change in sorted(changes, key=execution_order):
        groups.setdefault(change.account_id, []).append(change)
    return [groups[k] for k in sorted(groups, key=lambda k: (k is None, k or 0))]


def _start_workers(
    groups: Sequence[Sequence[Change]], run: _Run, parallelism: int
) -> list[threading.Thread]:
    """Apply the groups on up to ``parallelism`` daemon threads. Daemon, because an
    interrupted apply must be able to exit while a write still hangs: that write is
    recorded ``unknown`` and the process does not wait out its timeout."""
    work: queue.SimpleQueue[Sequence[Change]] = queue.SimpleQueue()
    for group in groups:
        work.put(group)

    def worker() -> None:
        while True:
            try:
                group = work.get_nowait()
            except queue.Empty:
                return
            try:
                run.apply_sequence(group)
            except Exception:  # an unexpected error: its change stays open, reported unknown
                continue

    workers = [
        threading.Thread(target=worker, name=f"hipaactl-apply-{n}", daemon=True)
        for n in range(min(max(1, parallelism), len(groups)))
    ]
    for thread in workers:
        thread.start()
    return workers


def _wait_for(
    workers: Sequence[threading.Thread], stop: threading.Event, clock: Callable[[], float]
) -> bool:
    """Wait for the workers; after a stop, give in-flight ones the grace period.
    Returns False when some were still running at the end of it."""
    deadline: float | None = None
    while True:
        alive = [thread for thread in workers if thread.is_alive()]
        if not alive:
            return True
        if stop.is_set() and deadline is None:
            deadline = clock() + INTERRUPT_GRACE_SECONDS
        if deadline is not None and clock() >= deadline:
            return False
        alive[0].join(timeout=0.05)


def apply_changes(
    changes: Sequence[Change],
    provider: Provider,
    *,
    parallelism: int,
    recorder: ApplyRecorder | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyReport:
    """Apply agency changes first, then each account's changes in order, accounts in
    parallel. A failure stops nothing but the changes that depend on it. After a stop,
    in-flight changes get the grace period, agency ones as much as account ones."""
    ledger = _Ledger(planned={c.address for c in changes})
    run = _Run(provider, recorder or NullRecorder(), ledger, stop or threading.Event())
    agency = sorted((c for c in changes if c.account_id is None), key=execution_order)
    accounts = group_by_account([c for c in changes if c.account_id is not None])
    finished = _wait_for(_start_workers([agency] if agency else [], run, 1), run.stop, clock)
    if finished and not run.stop.is_set():
        _wait_for(_start_workers(accounts, run, parallelism), run.stop, clock)
    return _report(changes, run, interrupted=run.stop.is_set())


def _report(changes: Sequence[Change], run: _Run, *, interrupted: bool) -> ApplyReport:
    """Every change's outcome. Changes still running are settled ``unknown`` here, in the
    log and in the report alike, under the ledger's lock (see ``_Run.settle``)."""
    with run.ledger.lock:
        run.ledger.closed = True
        for address, change in list(run.ledger.running.items()):
            reason = "outcome unknown — run plan: still running when apply was interrupted"
            try:
                run.recorder.finished(change, "unknown", "still running when apply was interrupted")
            except HipaactlError as exc:
                reason += f" (the change log could not record it: {exc})"
            run.ledger.running.pop(address)
            run.ledger.outcomes[address] = ChangeResult(change, "unknown", reason)
        outcomes = dict(run.ledger.outcomes)
    missing = "apply was interrupted" if interrupted else "not started"
    results = [outcomes.get(c.address, ChangeResult(c, "not_started", missing)) for c in changes]
    return ApplyReport(tuple(results), interrupted=interrupted)
