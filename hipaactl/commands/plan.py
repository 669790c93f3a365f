"""``hipaactl plan``: gate, read, diff, print; optionally save the plan and alert."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from hipaactl.commands.alerts import send_alert
from hipaactl.commands.common import gate_exit_code, load, make_plan, open_provider_for
from hipaactl.commands.console import (
    display_path,
    err,
    out,
    out_styled,
    warn_all,
    write_text_file,
)
from hipaactl.errors import HipaactlError
from hipaactl.plan.planfile import Plan, gate_document, plan_document
from hipaactl.report.alerts import (
    error_summary,
    failed_rules_summary,
    notify_target,
    plan_summary,
)
from hipaactl.report.render.json import render_json
from hipaactl.report.render.text import render_plan

DRIFT_EXIT_CODE = 2
SOURCE = "hipaactl plan"


@dataclass(frozen=True)
class PlanRequest:
    config: Path
    out_file: Path | None = None
    as_json: bool = False
    detailed_exitcode: bool = False
    targets: tuple[str, ...] = ()
    parallelism: int | None = None
    notify: str | None = None
    list_addresses: bool = False
    # How the user named the config (-c), for the "apply" hint; None: the default.
    config_shown: str | None = None


@dataclass(frozen=True)
class PlanOutcome:
    code: int
    plan: Plan | None = None
    gate_failures: tuple[tuple[str, str], ...] = ()


def _plan(request: PlanRequest) -> PlanOutcome:
    inputs = load(request.config)
    # Listing what can be targeted is no plan: the gate does not stand in its way.
    code = 0 if request.list_addresses else gate_exit_code(inputs)
    if code:
        if request.as_json:
            gate = inputs.gate
            out(render_json(gate_document(inputs.packs, gate.results, gate.warnings)))
        failures = tuple((r.rule.id, r.address) for r in inputs.gate.mandatory_failures)
        return PlanOutcome(code, gate_failures=failures)
    provider = open_provider_for(inputs.config)
    try:
        plan = make_plan(
            inputs,
            provider,
            request.targets,
            request.parallelism,
            list_addresses=request.list_addresses,
        )
    finally:
        provider.close()
    if request.list_addresses:
        out("".join(f"{address}\n" for address in plan.addresses))
        return PlanOutcome(0)
    warn_all(plan.warnings)
    # Rendering JSON for 10,000 accounts is not free: only when someone reads it.
    wanted = request.out_file is not None or request.as_json
    document = render_json(plan_document(plan)) if wanted else ""
    if request.out_file is not None:
        write_text_file(request.out_file, document)
        saved = display_path(request.out_file)
        config = f" -c {shlex.quote(request.config_shown)}" if request.config_shown else ""
        err(f"Saved the plan to {saved}; apply it with: hipaactl{config} apply {saved}")
    if request.as_json:
        out(document)
    else:
        out_styled(render_plan(plan))
    code = DRIFT_EXIT_CODE if request.detailed_exitcode and plan.has_changes else 0
    return PlanOutcome(code, plan)


def run_plan(request: PlanRequest) -> int:
    """``hipaactl plan``: gate, plan, print (and save) it, and send the alert, also on failure.

    Returns 0, 2 with ``--detailed-exitcode`` and changes, or 3 on a mandatory gate failure
    (SPEC section 1); a HipaactlError is re-raised after its alert is sent.
    """
    target = notify_target(request.notify, os.environ)
    try:
        outcome = _plan(request)
    except HipaactlError as exc:
        message = str(exc)
        send_alert(target, lambda p, env: error_summary(SOURCE, message, p, env))
        raise
    if outcome.plan is not None:
        plan = outcome.plan
        send_alert(target, lambda p, env: plan_summary(plan, p, env))
    elif outcome.gate_failures:
        failures = outcome.gate_failures
        send_alert(target, lambda p, env: failed_rules_summary(SOURCE, failures, p, env))
    return outcome.code
