"""``hipaactl apply``: lock, (re)plan, guard, confirm, apply with a change log, report."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from hipaactl.apply.audit_key import audit_key
from hipaactl.apply.audit_log import AuditWriter, LogLock, check_appendable
from hipaactl.apply.executor import INTERRUPT_GRACE_SECONDS, ApplyReport, Outcome, apply_changes
from hipaactl.apply.lock import ApplyLock, LockInfo
from hipaactl.commands.common import gate_exit_code, load, make_plan, open_provider_for
from hipaactl.commands.console import display_path, err, out, out_styled, warn_all
from hipaactl.errors import (
    ApplyFailedError,
    AuditLogError,
    Interrupted,
    UnsafePlanError,
    UsageError,
)
from hipaactl.model.changes import Change
from hipaactl.pipeline import Inputs
from hipaactl.plan.planfile import Plan, SavedPlan, ensure_current, read_saved_plan
from hipaactl.providers.base import Provider
from hipaactl.report.render.text import no_changes_line, render_apply_report, render_plan

CONFIRM_PROMPT = (
    "Do you want to perform these actions?\n"
    "  hipaactl will change the live CTM configuration above.\n"
    "  Only 'yes' will be accepted to approve.\n\n"
    "  Enter a value: "
)


@dataclass(frozen=True)
class ApplyRequest:
    config: Path
    plan_file: Path | None = None
    auto_approve: bool = False
    force: bool = False
    targets: tuple[str, ...] = ()
    parallelism: int | None = None
    lock_timeout: float = 0
    accept_missing_head: bool = False


def refuse_unsafe(plan: Plan, force: bool) -> None:
    """Raise UnsafePlanError listing each unsafe reason, unless the plan is safe or
    ``force`` is given (SPEC section 6).
    """
    if not plan.unsafe or force:
        return
    reasons = [f"{c.address}: {reason}" for c in plan.changes for reason in c.unsafe]
    raise UnsafePlanError(
        "refusing an unsafe plan: it weakens security; nothing was applied\n  "
        + "\n  ".join(reasons),
        hint="review each reason; apply with --force only if the change is intended",
    )


def confirmed(request: ApplyRequest) -> bool:
    """A saved plan was reviewed already; otherwise ask on a terminal, or need the flag."""
    if request.plan_file is not None or request.auto_approve:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs confirmation and there is no terminal to ask on; nothing was applied",
            hint="pass --auto-approve, or save a plan with plan -o and apply that file",
        )
    sys.stderr.write(CONFIRM_PROMPT)
    sys.stderr.flush()
    return sys.stdin.readline().strip() == "yes"


class Interrupts:
    """SIGINT/SIGTERM while apply holds the lock. Before the first change they abort
    the run (``Interrupted``: the lock is released and nothing was applied); once
    changes begin they set ``stop``: no new change starts and the engine waits for the
    in-flight ones. A second one ends that wait at once: the changes still open are
    recorded ``unknown`` in the change log, the lock is released, the report printed."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.applying = False
        self.forced = False
        self.interrupted = False  # one came before the first change

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """SIGINT/SIGTERM handler: before writes start, raise ``Interrupted`` (never a
        plain KeyboardInterrupt, see its docstring); while applying, set ``stop`` so no
        new change starts and in-flight ones finish; a second one while they finish
        forces the exit.
        """
        if not self.applying:
            self.interrupted = True
            raise Interrupted
        if self.stop.is_set():
            err("Interrupted again: not waiting; changes still in flight are recorded unknown.")
            self.forced = True
            return
        err(
            f"Interrupted: starting no new change, waiting up to {INTERRUPT_GRACE_SECONDS:g} s "
            "for in-flight ones (interrupt again to stop waiting)."
        )
        self.stop.set()

    def start_applying(self) -> None:
        """From here an interrupt stops the engine instead of unwinding. Raises
        ``Interrupted`` if one came earlier yet the run went on: raised inside a
        finalizer or weakref callback (an import's module lock being freed, say),
        Python prints the exception and drops it, and no change may start after that.
        """
        if self.interrupted:
            raise Interrupted
        self.applying = True

    def clock(self) -> float:
        """The engine's clock for its grace period: a forced exit jumps past the end of
        it, so the engine stops waiting at its next check (within 0.05 s)."""
        return time.monotonic() + (INTERRUPT_GRACE_SECONDS if self.forced else 0.0)


@contextmanager
def handling_interrupts() -> Iterator[Interrupts]:
    """Install ``Interrupts`` for the block; an interrupt before the first change
    becomes an ApplyFailedError saying nothing was applied."""
    interrupts = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            # One at a time inside the ``try``: an interrupt that arrives between the
            # two is reported like any other, and the handler already set is put back.
            previous[signum] = signal.signal(signum, interrupts.handle)
        yield interrupts
    except KeyboardInterrupt:
        raise ApplyFailedError(
            "apply was interrupted before any change was made; nothing was applied",
            hint="run apply again",
        ) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class AuditRecorder:
    """Documents each write in the hash-chained change log.

    ``started`` raises when the log cannot be written, so the write is not made. So does
    ``finished`` when an outcome cannot be written (the disk filled up after the write
    was made): the engine then reports the change ``unknown`` with what the API answered,
    as the log will (its open ``started`` record is closed as unknown by the next
    apply), so the report and the log never disagree.
    """

    def __init__(self, writer: AuditWriter) -> None:
        self.writer = writer

    def started(self, change: Change) -> None:
        """Write the ``started`` record; raises AuditLogError when it cannot be written."""
        self.writer.started(change.address, change.before, change.after)

    def finished(self, change: Change, outcome: Outcome, error: str | None) -> None:
        """Write the outcome record for applied, failed and unknown changes; skipped and
        not-started changes made no write and get none.
        """
        if outcome not in ("applied", "failed", "unknown"):
            return
        self.writer.finished(change.address, outcome, change.before, change.after, error)


def current_plan(
    request: ApplyRequest, inputs: Inputs, provider: Provider, saved: SavedPlan | None
) -> Plan:
    """Plan now; with a saved plan use its targets and raise StalePlanError (or
    PlanFileError) unless the new plan matches it (SPEC section 6).
    """
    targets = saved.targets if saved is not None else request.targets
    plan = make_plan(inputs, provider, targets, request.parallelism)
    if saved is not None:
        ensure_current(saved, plan)
    return plan


def execute(
    plan: Plan,
    provider: Provider,
    request: ApplyRequest,
    inputs: Inputs,
    interrupts: Interrupts,
    log_lock: LogLock,
) -> tuple[ApplyReport, AuditLogError | None]:
    """Apply the plan's changes, recording each in the change log (whose lock the caller
    holds), and print the audit head on stderr. Parallelism: ``--parallelism``, else the
    config's. Returns the report and, when the log could not be written (a full disk),
    the error to raise once the report is printed.
    """
    parallelism = request.parallelism or inputs.config.provider.parallelism
    # From here an interrupt stops the engine instead of unwinding: the change log
    # must never be cut mid-record, and every started write gets an outcome.
    interrupts.start_applying()
    log_path = inputs.config.audit_path
    writer = AuditWriter(
        log_path,
        plan_sha256=plan.changes_sha256,
        environ=os.environ,
        accept_missing_head=request.accept_missing_head,
        lock=log_lock,
    )
    try:
        report = apply_changes(
            plan.changes,
            provider,
            parallelism=parallelism,
            recorder=AuditRecorder(writer),
            stop=interrupts.stop,
            clock=interrupts.clock,
        )
    finally:
        try:
            head = writer.close()
        except AuditLogError as exc:
            head_error: AuditLogError | None = exc
        else:
            head_error = None
            err(
                f"audit head: {head.records} records, sha256 {head.hash} ({display_path(log_path)})"
            )
    return report, _log_error(writer, head_error)


def _log_error(writer: AuditWriter, head_error: AuditLogError | None) -> AuditLogError | None:
    if writer.failure is None:
        return head_error
    head = writer.head
    written = "and its head written" if head_error is None else f"but {head_error.message}"
    return AuditLogError(
        f"the change log {writer.path} could not be written ({writer.failure}): apply "
        "stopped, and no change was made after that (see the report above); the log was "
        f"cut back to its last whole record ({head.records} records) {written}",
        hint="free space on the log's disk, then run plan to see what is left to do",
    )


def plan_and_apply(
    request: ApplyRequest,
    inputs: Inputs,
    provider: Provider,
    saved: SavedPlan | None,
    interrupts: Interrupts,
    log_lock: LogLock,
) -> int:
    """Plan, show it (when not saved), refuse it if unsafe, confirm and apply.

    Returns 0 when there is nothing to do or everything applied (also when an interrupt
    came while the last changes were in flight and they finished), 1 when the user
    declines or some change did not apply. Raises UnsafePlanError or StalePlanError, and
    AuditLogError (after printing the report) when the change log could not be written.
    """
    plan = current_plan(request, inputs, provider, saved)
    warn_all(plan.warnings)
    if saved is None:
        out_styled(render_plan(plan))
    if not plan.changes:
        if saved is not None:
            out(no_changes_line(plan) + "\n")
        return 0
    refuse_unsafe(plan, request.force)
    provider.check_writes(plan.changes)  # e.g. inferred endpoints without the opt-in
    if not confirmed(request):
        err("Apply cancelled; nothing was changed.")
        return 1
    report, log_error = execute(plan, provider, request, inputs, interrupts, log_lock)
    out_styled(render_apply_report(report))
    if log_error is not None:
        raise log_error
    return 0 if report.succeeded else 1


def acquiring_message(info: LockInfo | None, timeout: float) -> str:
    """What apply says while ``--lock-timeout`` waits for another run's lock."""
    holder = (
        f"held by {info.holder} (pid {info.pid}) running '{info.command}'"
        if info is not None
        else "held by another run"
    )
    return f"Acquiring lock… ({holder}; waiting up to {timeout:g} s)"


def run_apply(request: ApplyRequest) -> int:
    """``hipaactl apply``: run the gate, take the lock, then apply the saved plan or plan,
    confirm and apply. Returns the exit code: 0 when all changes applied or none were
    needed, 1 when some were not or the user declined, 3 on a mandatory gate failure
    (SPEC sections 1 and 6).

    Raises PlanFileError/StalePlanError, UnsafePlanError, LockError, ProviderError,
    StateReadError or AuditLogError, each exit 1.
    """
    saved = read_saved_plan(request.plan_file) if request.plan_file is not None else None
    inputs = load(request.config)
    code = gate_exit_code(inputs)
    if code:
        return code
    command = "hipaactl apply" + (f" {request.plan_file}" if request.plan_file else "")
    lock = ApplyLock(
        inputs.config.directory,
        command=command,
        environ=os.environ,
        timeout=request.lock_timeout,
        on_wait=lambda info: err(acquiring_message(info, request.lock_timeout)),
    )
    # The log's own lock too: configs elsewhere may share its [audit] path. Both are
    # taken, and the log checked, before live state is read, so a refused apply has
    # read and written nothing.
    log_lock = LogLock(inputs.config.audit_path, timeout=request.lock_timeout)
    with handling_interrupts() as interrupts, lock, log_lock:
        check_appendable(
            inputs.config.audit_path,
            accept_missing_head=request.accept_missing_head,
            key=audit_key(os.environ),
        )
        provider = open_provider_for(inputs.config)
        try:
            return plan_and_apply(request, inputs, provider, saved, interrupts, log_lock)
        finally:
            provider.close()
