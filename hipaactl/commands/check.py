"""``hipaactl check``: audit live state against the packs and write a compliance report.

Exit 1 when anything could not be evaluated, else 3 when a mandatory rule failed or waits
for an attestation, else 0. The report is written in the chosen format every time, even
when the account list, agency security or accounts could not be read: their results are
``error`` with the reason, never a pass (SPEC section 7).

With ``--notify URL`` (or ``$HIPAACTL_NOTIFY_URL``) a summary without personal data is
posted when a rule failed, waits for an attestation or could not be evaluated, and when
the run itself failed (SPEC section 8).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hipaactl.commands.alerts import send_alert
from hipaactl.commands.common import open_provider_for
from hipaactl.commands.console import (
    display_path,
    err,
    out,
    out_styled,
    progress_bar,
    warn_all,
    write_text_file,
)
from hipaactl.config.load import load_config
from hipaactl.config.model import Config
from hipaactl.errors import ConfigError, HipaactlError, UsageError
from hipaactl.pipeline import Clock, PlanOptions, build_check_report, utc_now
from hipaactl.policy.model import Pack
from hipaactl.policy.packs import load_packs, pack_limit_issues
from hipaactl.report.alerts import check_summary, error_summary, notify_target
from hipaactl.report.check import Report, report_document
from hipaactl.report.history import History, load_history, with_current
from hipaactl.report.render.html import render_html
from hipaactl.report.render.json import render_json
from hipaactl.report.render.junit import render_junit
from hipaactl.report.render.markdown import render_markdown
from hipaactl.report.render.sarif import render_sarif
from hipaactl.report.render.text import render_report

ReportFormat = Literal["text", "json", "markdown", "sarif", "junit", "html"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("text", "json", "markdown", "sarif", "junit", "html")
SOURCE = "hipaactl check"

RENDERERS: Mapping[ReportFormat, Callable[[Report], str]] = {
    "text": render_report,
    "json": lambda report: render_json(report_document(report)),
    "markdown": render_markdown,
    "sarif": render_sarif,
    "junit": render_junit,
    "html": render_html,
}


def parse_report_format(value: str) -> ReportFormat:
    """``--format`` as one of REPORT_FORMATS; raises UsageError for any other value."""
    for name in REPORT_FORMATS:
        if value == name:
            return name
    raise UsageError(f"--format {value!r} is not one of: {', '.join(REPORT_FORMATS)}")


@dataclass(frozen=True)
class CheckRequest:
    config: Path
    report_format: ReportFormat = "text"
    out_file: Path | None = None
    packs: tuple[str, ...] = ()  # --pack: replaces the configured packs
    parallelism: int | None = None
    notify: str | None = None  # --notify URL; else $HIPAACTL_NOTIFY_URL
    history: Path | None = None  # --history DIR: earlier JSON reports (html only)


def config_uri(path: Path, working_dir: Path) -> str:
    """The config file relative to the working directory (SARIF's %SRCROOT% in CI),
    with forward slashes; absolute when it lies elsewhere."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(working_dir.resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def git_top_level(path: Path) -> Path | None:
    """The root of the git checkout holding ``path`` (the nearest folder above it with a
    ``.git`` folder or file, as worktrees and submodules have), or None."""
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return None


def source_uri(path: Path, working_dir: Path) -> str:
    """The config file as SARIF's %SRCROOT%-relative URI: relative to the git top level
    when the config is in a checkout (where code scanning resolves it, whatever the
    working directory of the run), else as ``config_uri``."""
    top = git_top_level(path)
    if top is None:
        return config_uri(path, working_dir)
    return path.resolve().relative_to(top).as_posix()


def select_packs(config: Config, refs: tuple[str, ...], working_dir: Path) -> tuple[Pack, ...]:
    """``--pack`` ids or files (relative to the working directory) replace the config's
    packs; without them, the config's ``policies`` (relative to the config file)."""
    if refs:
        return load_packs(refs, base_dir=working_dir)
    packs = load_packs(config.policies, base_dir=config.directory, config_file=config.path)
    issues = pack_limit_issues(config, packs)
    if issues:
        raise ConfigError(issues)
    return packs


def make_report(request: CheckRequest, *, clock: Clock = utc_now) -> Report:
    """Load config and packs (``--pack`` narrows them), read live state and build the report.

    Raises ConfigError, PolicyPackError, ProviderError or StateReadError.
    """
    config = load_config(request.config, today=clock().date())
    packs = select_packs(config, request.packs, Path.cwd())
    return report_on(config, packs, clock=clock, parallelism=request.parallelism)


def report_on(
    config: Config, packs: tuple[Pack, ...], *, clock: Clock, parallelism: int | None = None
) -> Report:
    """Read live state through the config's provider and report on it against ``packs``
    (``check`` and ``evidence``). Raises ProviderError or StateReadError."""
    working_dir = Path.cwd()
    provider = open_provider_for(config)
    try:
        with progress_bar("Reading live state") as progress:
            options = PlanOptions(parallelism=parallelism, progress=progress, clock=clock)
            return build_check_report(
                config,
                packs,
                provider,
                options,
                config_uri=config_uri(config.path, working_dir),
                source_uri=source_uri(config.path, working_dir),
            )
    finally:
        provider.close()


def _error_summary(report: Report) -> str:
    names = "\n  ".join(f"{r.rule.id} {r.address}: {r.message}" for r in report.errors)
    return (
        f"error: {len(report.errors)} check(s) could not be evaluated; the report lists "
        f"every result, but unknown data is never a pass:\n  {names}"
    )


def check_history_option(request: CheckRequest) -> History | None:
    """The earlier reports of ``--history`` (bad files and a missing folder are
    warnings). Raises ``UsageError``, before any API call, for a format with no trend."""
    if request.history is None:
        return None
    if request.report_format != "html":
        raise UsageError("--history draws a trend chart: it needs --format html")
    return load_history(request.history)


def run_check(request: CheckRequest, *, clock: Clock = utc_now) -> int:
    """``hipaactl check``: write the report (stdout or ``--out``) and send the alert, also on
    failure. Returns 0; 3 when a mandatory rule failed or is manual; 1 when some rule could
    not be evaluated, which wins (SPEC section 1). A HipaactlError is re-raised after its
    alert is sent.
    """
    target = notify_target(request.notify, os.environ)
    try:
        history = check_history_option(request)
        report = make_report(request, clock=clock)
        code = _write_report(request, report, history)
    except HipaactlError as exc:
        message = str(exc)
        send_alert(target, lambda p, env: error_summary(SOURCE, message, p, env))
        raise
    send_alert(target, lambda p, env: check_summary(report, p, env))
    return code


def render(request: CheckRequest, report: Report, history: History | None) -> str:
    if history is not None:
        warn_all(history.warnings)
        return render_html(report, with_current(history.points, report))
    return RENDERERS[request.report_format](report)


def _write_report(request: CheckRequest, report: Report, history: History | None) -> int:
    warn_all(report.warnings)
    text = render(request, report, history)
    if request.out_file is not None:
        write_text_file(request.out_file, text)
        err(f"Wrote the {request.report_format} report to {display_path(request.out_file)}.")
    else:
        (out_styled if request.report_format == "text" else out)(text)
    if report.errors:
        err(_error_summary(report))
    err(f"check: {report.conclusion}.")
    return report.exit_code
