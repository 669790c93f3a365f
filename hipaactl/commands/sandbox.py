"""``hipaactl sandbox reset``: restore the embedded sandbox's working copy from its seed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hipaactl.config.load import load_config
from hipaactl.providers.sandbox.workcopy import reset_working_copy


def run_reset(config_path: Path) -> Path:
    config = load_config(config_path, today=dt.date.today())
    return reset_working_copy(config.directory, config.provider.seed)
