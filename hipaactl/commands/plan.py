"""``hipaactl plan``: gate, read, diff, print; optionally save the plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hipaactl.commands.common import gate_exit_code, load, make_plan, open_provider_for
from hipaactl.commands.console import err, out, warn_all, write_text_file
from hipaactl.plan import plan_document
from hipaactl.render.json import render_json
from hipaactl.render.text import render_plan

DRIFT_EXIT_CODE = 2


@dataclass(frozen=True)
class PlanRequest:
    config: Path
    out_file: Path | None = None
    as_json: bool = False
    detailed_exitcode: bool = False
    targets: tuple[str, ...] = ()
    parallelism: int | None = None


def run_plan(request: PlanRequest) -> int:
    inputs = load(request.config)
    code = gate_exit_code(inputs)
    if code:
        return code
    provider = open_provider_for(inputs)
    try:
        plan = make_plan(inputs, provider, request.targets, request.parallelism)
    finally:
        provider.close()
    warn_all(plan.warnings)
    # Rendering JSON for 10,000 accounts is not free: only when someone reads it.
    wanted = request.out_file is not None or request.as_json
    document = render_json(plan_document(plan)) if wanted else ""
    if request.out_file is not None:
        write_text_file(request.out_file, document)
        saved = request.out_file
        err(f"Saved the plan to {saved}; apply it with: hipaactl apply {saved}")
    out(document if request.as_json else render_plan(plan))
    return DRIFT_EXIT_CODE if request.detailed_exitcode and plan.has_changes else 0
