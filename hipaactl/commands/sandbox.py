"""``hipaactl sandbox reset``: restore the embedded sandbox's working copy from its seed."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from hipaactl.apply.lock import ApplyLock
from hipaactl.config.load import load_config
from hipaactl.errors import UsageError
from hipaactl.files import shown_path
from hipaactl.providers.sandbox.workcopy import reset_working_copy


def run_reset(config_path: Path) -> Path:
    """Takes the apply lock: a reset under a running apply would corrupt its view."""
    config = load_config(config_path, today=dt.date.today())
    if config.provider.kind != "sandbox":
        raise UsageError(
            f"sandbox reset works on the embedded sandbox only; {shown_path(config.path)} uses "
            f'[provider] kind = "{config.provider.kind}": nothing was reset',
            hint="run it with a config whose provider is the sandbox (-c FILE)",
        )
    with ApplyLock(config.directory, command="hipaactl sandbox reset", environ=os.environ):
        return reset_working_copy(config.directory, config.provider.seed)
