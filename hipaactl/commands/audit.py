"""``hipaactl audit verify`` and ``audit show``: check and read the change log."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hipaactl.apply.audit_key import AUDIT_KEY_ENV, audit_key
from hipaactl.apply.audit_log import DEFAULT_LOG_PATH, VerifyReport, read_log, verify_log
from hipaactl.config.load import load_config
from hipaactl.errors import ConfigError, UsageError


def resolve_log_path(log: Path | None, config_path: Path) -> Path:
    """The LOG argument, else the config's ``[audit] path``, else the default path."""
    if log is not None:
        return log
    if config_path.exists():
        try:
            return load_config(config_path, today=dt.date.today(), check_files=False).audit_path
        except ConfigError:
            pass  # a broken config must not stop an auditor from reading the log
    return DEFAULT_LOG_PATH


def run_verify(
    log: Path | None,
    config_path: Path,
    head: str | None,
    environ: Mapping[str, str] = os.environ,
) -> VerifyReport:
    """``hipaactl audit verify``: check the change log (``--log``, else the config's) against
    its head (``--head HASH``, else ``audit.head``), with ``$HIPAACTL_AUDIT_KEY`` when set
    (keyed mode). Raises AuditLogError or UsageError.
    """
    return verify_log(resolve_log_path(log, config_path), head_hash=head, key=audit_key(environ))


def describe_mode(report: VerifyReport) -> str:
    """Which check ran, in words for ``audit verify`` output (never the key)."""
    if report.mode == "keyed":
        return f"keyed: HMAC-SHA-256 under ${AUDIT_KEY_ENV}"
    return f"plain: SHA-256 chain (${AUDIT_KEY_ENV} not set)"


def parse_since(text: str | None) -> dt.datetime | None:
    """``--since`` as an aware datetime (UTC when no offset is given), or None.

    Accepts YYYY-MM-DD or ISO 8601 (``Z`` allowed); raises UsageError otherwise.
    """
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date", hint="use YYYY-MM-DD or an ISO 8601 time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def run_show(log: Path | None, config_path: Path, since: str | None) -> list[dict[str, Any]]:
    """``hipaactl audit show``: the log's records, those at or after ``--since`` when given.

    Raises UsageError for a bad ``--since`` and AuditLogError for an unreadable log.
    """
    return read_log(resolve_log_path(log, config_path), since=parse_since(since))
