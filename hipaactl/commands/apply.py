"""``hipaactl apply``: lock, (re)plan, guard, confirm, apply, report."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from hipaactl.apply import ApplyReport, apply_changes
from hipaactl.commands.common import gate_exit_code, load, make_plan, open_provider_for
from hipaactl.commands.console import err, out, warn_all
from hipaactl.errors import UnsafePlanError, UsageError
from hipaactl.pipeline import Inputs
from hipaactl.plan import Plan, SavedPlan, ensure_current, read_saved_plan
from hipaactl.providers.base import Provider
from hipaactl.render.text import NO_CHANGES, render_apply_report, render_plan

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


def refuse_unsafe(plan: Plan, force: bool) -> None:
    if not plan.unsafe or force:
        return
    reasons = [f"{c.address}: {reason}" for c in plan.changes for reason in c.unsafe]
    raise UnsafePlanError(
        "refusing an unsafe plan: it weakens security\n  " + "\n  ".join(reasons),
        hint="review each reason; apply with --force only if the change is intended",
    )


def confirmed(request: ApplyRequest) -> bool:
    """A saved plan was reviewed already; otherwise ask on a terminal, or need the flag."""
    if request.plan_file is not None or request.auto_approve:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs confirmation: no terminal to ask on",
            hint="pass --auto-approve, or save a plan with plan -o and apply that file",
        )
    sys.stderr.write(CONFIRM_PROMPT)
    sys.stderr.flush()
    answer = sys.stdin.readline().strip()
    return answer == "yes"


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM start no new change; the engine waits for in-flight ones."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        err("Interrupt received: starting no new changes, waiting for in-flight ones...")
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def current_plan(
    request: ApplyRequest, inputs: Inputs, provider: Provider, saved: SavedPlan | None
) -> Plan:
    targets = saved.targets if saved is not None else request.targets
    plan = make_plan(inputs, provider, targets, request.parallelism)
    if saved is not None:
        ensure_current(saved, plan)
    return plan


def execute(plan: Plan, provider: Provider, request: ApplyRequest, inputs: Inputs) -> ApplyReport:
    parallelism = request.parallelism or inputs.config.provider.parallelism
    with stop_on_signals() as stop:
        return apply_changes(plan.changes, provider, parallelism=parallelism, stop=stop)


def run_apply(request: ApplyRequest) -> int:
    saved = read_saved_plan(request.plan_file) if request.plan_file is not None else None
    inputs = load(request.config)
    code = gate_exit_code(inputs)
    if code:
        return code
    provider = open_provider_for(inputs)
    try:
        plan = current_plan(request, inputs, provider, saved)
        warn_all(plan.warnings)
        if saved is None:
            out(render_plan(plan))
        if not plan.changes:
            if saved is not None:
                out(NO_CHANGES + "\n")
            return 0
        refuse_unsafe(plan, request.force)
        if not confirmed(request):
            err("Apply cancelled; nothing was changed.")
            return 1
        report = execute(plan, provider, request, inputs)
    finally:
        provider.close()
    out(render_apply_report(report))
    return 0 if report.succeeded else 1
