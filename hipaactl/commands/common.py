"""Steps several commands share: load inputs, enforce the gate, open the provider, plan."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

from hipaactl.commands.console import err, progress_bar, warn_all
from hipaactl.config.model import Config
from hipaactl.pipeline import Inputs, PlanOptions, build_plan, load_inputs
from hipaactl.plan.planfile import Plan
from hipaactl.providers.base import Provider, ProviderContext, open_provider
from hipaactl.report.render.text import render_gate_failures

GATE_EXIT_CODE = 3


def load(config_path: Path) -> Inputs:
    """The config, packs and gate at ``config_path``, dated today (local date)."""
    return load_inputs(config_path, today=dt.date.today())


def gate_exit_code(inputs: Inputs) -> int:
    """Report the gate on stderr; 3 on a mandatory failure (advisory ones only warn)."""
    warn_all(inputs.gate.warnings)
    if inputs.gate.advisory_failures:
        err(render_gate_failures(inputs.gate.advisory_failures, "warning: advisory rules failed:"))
    if inputs.gate.mandatory_failures:
        err(
            render_gate_failures(
                inputs.gate.mandatory_failures,
                "error: the declared desired state fails mandatory rules; nothing was planned:",
            )
        )
        return GATE_EXIT_CODE
    return 0


def open_provider_for(config: Config) -> Provider:
    """The config's provider, given this process's environment for its credentials."""
    context = ProviderContext(
        settings=config.provider,
        config_path=config.path,
        work_dir=config.directory,
        environ=dict(os.environ),
    )
    return open_provider(context)


def make_plan(
    inputs: Inputs,
    provider: Provider,
    targets: Sequence[str],
    parallelism: int | None,
    *,
    list_addresses: bool = False,
) -> Plan:
    """Plan with a progress bar on stderr; ``parallelism`` None uses the config's."""
    with progress_bar("Reading live state") as progress:
        options = PlanOptions(
            targets=tuple(targets),
            parallelism=parallelism,
            progress=progress,
            list_addresses=list_addresses,
        )
        return build_plan(inputs, provider, options)
