"""Posting drift alerts from a command (``plan --notify``, ``check --notify``).

The summaries themselves are built in ``hipaactl.report.alerts``; this module only decides
whether to send one, warns about an unkeyed hash or a plain-http URL, and reports a
failed or refused delivery on stderr without touching the exit code (SPEC section 8).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from hipaactl.commands.console import err, warn_all
from hipaactl.report.alerts import NotifyError, Pseudonymizer, deliver, url_warning

SummaryBuilder = Callable[[Pseudonymizer, Mapping[str, str]], Mapping[str, Any] | None]


def send_alert(target: str | None, build: SummaryBuilder) -> None:
    """Post ``build(pseudonyms, environ)`` when there is a target and something to say;
    a failed alert is reported and never changes the exit code."""
    if target is None:
        return
    pseudonyms = Pseudonymizer.from_environ(os.environ)
    summary = build(pseudonyms, os.environ)
    if summary is None:
        return
    warn_all([w for w in (pseudonyms.warning, url_warning(target)) if w])
    try:
        deliver(target, summary)
    except NotifyError as exc:
        err(f"warning: {exc}")
