"""The command line: parse, call one library function, render, map errors to exit codes.

Heavy modules are imported inside commands so ``hipaactl --version`` stays fast.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer

from hipaactl import __version__
from hipaactl.commands.console import (
    CONSOLE,
    display_path,
    err,
    out,
    out_styled,
    warn_all,
    write_text_file,
)
from hipaactl.errors import HipaactlError, Interrupted, UsageError
from hipaactl.model.scrub import forget_secrets

EXIT_CODES_HELP = """\b
Exit codes (every command):
  0  success; plan --detailed-exitcode: no changes; check: no mandatory rule failed
  1  error: bad input or usage, API failure, unreadable state, stale or altered
     plan, unsafe plan refused, partial or interrupted apply (an interrupted
     one that applied every change is 0)
  2  plan --detailed-exitcode: changes (drift) present
  3  a mandatory rule failed (validate and plan on the declared desired state,
     check on live state)

\b
Global options go before or after the command: -c/--config FILE (default
hipaa.toml, or $HIPAACTL_CONFIG), --no-color (or NO_COLOR), --debug.
Results go to stdout; progress, warnings, prompts and errors to stderr.
"""

app = typer.Typer(
    name="hipaactl",
    help="Plan, apply and audit the HIPAA-relevant settings of CallTrackingMetrics.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
sandbox_app = typer.Typer(help="The embedded CTM-compatible sandbox.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
audit_app = typer.Typer(
    help="Verify and read the hash-chained change log of applies.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
policies_app = typer.Typer(
    help="Browse the policy packs: rules, citations, checklist sources.", no_args_is_help=True
)
app.add_typer(policies_app, name="policies")


@dataclass
class GlobalOptions:
    config: Path
    no_color: bool = False
    debug: bool = False
    config_shown: str | None = None  # -c as the user wrote it, for hints to paste back


_GLOBALS = GlobalOptions(config=Path("hipaa.toml"))


def default_config_path(environ: os._Environ[str] | dict[str, str]) -> Path:
    """``$HIPAACTL_CONFIG``, else ``hipaa.toml`` in the current folder."""
    return Path(environ.get("HIPAACTL_CONFIG") or "hipaa.toml")


def hoist_global_options(argv: Sequence[str], options: GlobalOptions) -> list[str]:
    """Take the global options out of ``argv`` wherever they stand, so they work both
    before and after the subcommand."""
    rest: list[str] = []
    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg in ("-c", "--config"):
            if index + 1 >= len(args):
                raise UsageError(f"option {arg} requires a FILE argument")
            options.config = Path(args[index + 1])
            options.config_shown = args[index + 1]
            index += 2
            continue
        if arg.startswith("--config="):
            options.config_shown = arg.split("=", 1)[1]
            options.config = Path(options.config_shown)
        elif arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--"):
            options.config_shown = arg[2:]
            options.config = Path(options.config_shown)
        elif arg == "--no-color":
            options.no_color = True
        elif arg == "--debug":
            options.debug = True
        else:
            rest.append(arg)
        index += 1
    return rest


# ---------------------------------------------------------------------------- commands


def _version_callback(value: bool) -> None:
    if value:
        out(f"hipaactl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            is_eager=True,
            callback=_version_callback,
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--config",
            metavar="FILE",
            help="Config file (default hipaa.toml or $HIPAACTL_CONFIG).",
        ),
    ] = None,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour (also NO_COLOR).")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Full traceback on unexpected errors.")
    ] = False,
) -> None:
    """Plan, apply and audit the HIPAA-relevant settings of CallTrackingMetrics."""


TargetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--target", metavar="ADDR", help="Only this address and what is under it (repeatable)."
    ),
]
NotifyOption = Annotated[
    str | None,
    typer.Option(
        "--notify",
        metavar="URL",
        help="Post a summary (no personal data) to URL, slack:URL or teams:URL; never printed.",
        show_default=False,
    ),
]
ParallelismOption = Annotated[
    int | None,
    typer.Option(
        "--parallelism",
        metavar="N",
        min=1,
        max=64,
        help="Accounts read/applied at once (default 8).",
    ),
]


@app.command()
def validate(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check the config offline: syntax, schema, cross-field rules and the policy gate.

    Every problem is reported at once. Exit 1 on config errors, 3 when the declared
    desired state fails a mandatory rule.
    """
    import datetime as dt

    from hipaactl.commands.validate import run_validate

    code, text, stderr_text = run_validate(_GLOBALS.config, dt.date.today(), as_json=as_json)
    if stderr_text:
        err(stderr_text)
    if text:
        out(text)
    raise typer.Exit(code)


@app.command()
def plan(
    out_file: Annotated[
        Path | None,
        typer.Option("-o", "--out", metavar="PLANFILE", help="Save the plan (JSON) to this file."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    target: TargetOption = None,
    parallelism: ParallelismOption = None,
    notify: NotifyOption = None,
    list_addresses: Annotated[
        bool,
        typer.Option(
            "--list-addresses",
            help="Print every address --target accepts (unchanged resources too), one a line.",
        ),
    ] = False,
) -> None:
    """Read live state, diff it against the config, and print the plan.

    With --notify (or $HIPAACTL_NOTIFY_URL) a summary without personal data is posted
    when there are changes, manual actions, failed rules or errors.
    """
    from hipaactl.commands.plan import PlanRequest, run_plan

    if list_addresses:
        # Listing addresses makes no plan: a script that also asked to save or gate one
        # must not go on as if it had one.
        given = [
            flag
            for flag, on in (
                ("-o/--out", out_file is not None),
                ("--json", as_json),
                ("--detailed-exitcode", detailed_exitcode),
            )
            if on
        ]
        if given:
            raise UsageError(
                f"--list-addresses cannot be used with {', '.join(given)}: it prints "
                "addresses and makes no plan"
            )
    request = PlanRequest(
        config=_GLOBALS.config,
        out_file=out_file,
        as_json=as_json,
        detailed_exitcode=detailed_exitcode,
        targets=tuple(target or ()),
        parallelism=parallelism,
        notify=notify,
        list_addresses=list_addresses,
        config_shown=_GLOBALS.config_shown,
    )
    raise typer.Exit(run_plan(request))


@app.command()
def apply(
    plan_file: Annotated[
        Path | None, typer.Argument(metavar="PLANFILE", help="A plan saved with plan -o.")
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without asking for 'yes'.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Apply even a plan that weakens security.")
    ] = False,
    target: TargetOption = None,
    parallelism: ParallelismOption = None,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            metavar="SECONDS",
            min=0,
            help="Seconds to wait for the lock (default 0: fail at once).",
        ),
    ] = 0,
    accept_missing_head: Annotated[
        bool,
        typer.Option(
            "--accept-missing-head",
            help="Append to a change log whose audit.head is missing (recorded in the log).",
        ),
    ] = False,
) -> None:
    """Apply a saved plan, or plan, confirm and apply.

    A saved plan is applied only if config, live state and changes still match it; it
    never prompts. Without one, the plan is shown and 'yes' is asked on a terminal
    (--auto-approve otherwise).
    """
    from hipaactl.commands.apply import ApplyRequest, run_apply

    if plan_file is not None and target:
        raise UsageError("--target cannot be used with a saved plan: the plan has its targets")
    request = ApplyRequest(
        config=_GLOBALS.config,
        plan_file=plan_file,
        auto_approve=auto_approve,
        force=force,
        targets=tuple(target or ()),
        parallelism=parallelism,
        lock_timeout=lock_timeout,
        accept_missing_head=accept_missing_head,
    )
    raise typer.Exit(run_apply(request))


@app.command()
def show(
    plan_file: Annotated[
        Path, typer.Argument(metavar="PLANFILE", help="A plan saved with plan -o.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan JSON.")] = False,
) -> None:
    """Render a saved plan."""
    from hipaactl.canonical import parse_json
    from hipaactl.plan.planfile import load_plan_for_display
    from hipaactl.report.render.json import render_json
    from hipaactl.report.render.text import render_plan

    saved = load_plan_for_display(plan_file)
    if as_json:
        out(render_json(parse_json(plan_file.read_bytes())))
    else:
        out_styled(render_plan(saved))


@app.command()
def check(
    report_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="text|json|markdown|sarif|junit|html",
            help="Report format (default text); html is one self-contained page.",
        ),
    ] = "text",
    out_file: Annotated[
        Path | None,
        typer.Option("-o", "--out", metavar="FILE", help="Write the report to this file."),
    ] = None,
    pack: Annotated[
        list[str] | None,
        typer.Option(
            "--pack",
            metavar="ID|FILE",
            help="A pack id or file (relative to the working directory) to check against "
            "instead of the configured packs (repeatable).",
        ),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            metavar="DIR",
            help="Earlier JSON reports (searched recursively) for a trend chart; "
            "--format html only. A file that is not one, or a missing DIR, is a warning.",
        ),
    ] = None,
    notify: NotifyOption = None,
) -> None:
    """Audit the live state against the policy packs: a compliance report.

    Exit 0 when every mandatory check passed, 3 when a mandatory rule failed or needs an
    attestation, 1 when something could not be read or evaluated (errors win).

    With --notify (or $HIPAACTL_NOTIFY_URL) a summary without personal data is posted
    when a rule failed, needs an attestation or could not be evaluated.
    """
    from hipaactl.commands.check import CheckRequest, parse_report_format, run_check

    request = CheckRequest(
        config=_GLOBALS.config,
        report_format=parse_report_format(report_format),
        out_file=out_file,
        packs=tuple(pack or ()),
        notify=notify,
        history=history,
    )
    raise typer.Exit(run_check(request))


@app.command()
def doctor(
    account: Annotated[
        int | None,
        typer.Option(
            "--account", metavar="ID", help="Probe this account (default: the first managed)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Versioned JSON, safe to attach to a bug report.")
    ] = False,
    out_file: Annotated[
        Path | None,
        typer.Option("-o", "--out", metavar="FILE", help="Write the report to this file."),
    ] = None,
) -> None:
    """Read-only probe of the provider: one GET to every endpoint the config and packs need.

    Lists the accounts, then for one account reports each endpoint's path template,
    documented or inferred, overridden or not, HTTP status, list key, and per field:
    present with the expected type, another type, missing, or unchecked (no items); plus
    unknown field names, paging fields, rate-limit headers and CTM's error shape. Never
    writes and never prints a value (key names, types and counts only).

    Exit 0 when every needed endpoint answered in the expected shape, 1 otherwise (a 404
    names the [provider.endpoints] key to set).
    """
    from hipaactl.commands.doctor import DoctorRequest, run_doctor

    request = DoctorRequest(_GLOBALS.config, account=account, as_json=as_json, out_file=out_file)
    raise typer.Exit(run_doctor(request))


@app.command()
def evidence(
    out_path: Annotated[
        Path,
        typer.Option(
            "-o",
            "--out",
            metavar="PATH",
            help="Where to write the bundle: a folder, or a reproducible zip if PATH ends in .zip.",
        ),
    ],
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            metavar="DIR",
            help="Earlier JSON check reports to include, and to chart in the HTML report "
            "(searched recursively); a file that is not one, or a missing DIR, is a warning.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace PATH when it is not empty.")
    ] = False,
) -> None:
    """Write an auditor's evidence bundle: config, packs, a fresh check report, the change
    log with its verification, attestations, a manifest of SHA-256 digests and a README.

    Exit codes follow check (0, 3, or 1 when live state could not be read), and 1 when
    the change log does not verify; the bundle is written in every case. Prints the
    SHA-256 of the zip (of manifest.json for a folder) to keep in CI logs.
    $HIPAACTL_EVALUATED_AT (ISO 8601) fixes the evaluation time: the same inputs then
    give the same bytes.
    """
    from hipaactl.commands.evidence import EvidenceRequest, run_evidence

    request = EvidenceRequest(config=_GLOBALS.config, out=out_path, history=history, force=force)
    result = run_evidence(request)
    bundle = result.evidence
    warn_all(bundle.warnings)
    verify = bundle.change_log.verify
    warn_all(verify.warnings)
    if not verify.ok:
        err("error: the change log does not verify:\n  " + "\n  ".join(verify.problems))
    if bundle.check_error is not None:
        err(f"error: live state could not be read; the bundle has no report: {bundle.check_error}")
    elif bundle.report is not None:
        err(f"check: {bundle.report.conclusion}.")
    err(f"Wrote the evidence bundle to {result.path} ({result.files} files).")
    out(f"{result.sha256}  {result.path}\n")
    raise typer.Exit(bundle.exit_code)


@app.command(name="import")
def import_(
    account: Annotated[
        list[int] | None,
        typer.Option("--account", metavar="ID", help="Only this account id (repeatable)."),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("-o", "--out", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a desired-state file that matches live state (adopt an existing agency).

    With the sandbox provider and -o in another folder, the sandbox working copy is
    copied there too, so a plan of the new file reads the state it was imported from.
    """
    from hipaactl.commands.import_ import carry_sandbox_state, run_import

    if out_file is not None and out_file.exists() and not force:
        raise UsageError(f"{display_path(out_file)} exists; pass --force to overwrite it")
    text, warnings = run_import(_GLOBALS.config, accounts=tuple(account or ()), out_file=out_file)
    warn_all(warnings)
    if out_file is None:
        out(text)
        return
    write_text_file(out_file, text)
    err(f"Wrote {display_path(out_file)}.")
    carried, warning = carry_sandbox_state(_GLOBALS.config, out_file)
    if carried is not None:
        err(
            f"Copied the sandbox working copy to {display_path(carried)}: a plan of "
            f"{display_path(out_file)} reads the live state it was imported from."
        )
    warn_all([warning] if warning else [])


@app.command()
def init(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Folder to write into, created if needed (default: here)."
        ),
    ] = Path("."),
    example: Annotated[
        str | None,
        typer.Option(
            "--example",
            metavar="NAME",
            help="Write a full demo instead of the safe starter: clinic (fictional users and "
            "attested facts; for the sandbox only).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a commented, safe starter hipaa.toml into DIR.

    The starter declares agency security and defaults on the embedded sandbox, and no
    users and no attestations: check reports those as manual until a person confirms
    them. --example clinic writes the demo with its sandbox seed instead.
    """
    from hipaactl.commands.init import run_init

    result = run_init(directory, force=force, example=example, shown=display_path(directory))
    for path in result.written:
        err(f"Wrote {display_path(path)}.")
    for line in result.next_steps:
        err(line)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config file."""
    from hipaactl.config.schema import config_json_schema
    from hipaactl.report.render.json import render_json

    out(render_json(config_json_schema()))


@sandbox_app.command("reset")
def sandbox_reset() -> None:
    """Restore the embedded sandbox's working copy from its seed (takes the lock)."""
    from hipaactl.commands.sandbox import run_reset

    path = run_reset(_GLOBALS.config)
    err(f"Sandbox reset: {display_path(path)}")


@policies_app.command("list")
def policies_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the packs as JSON.")] = False,
) -> None:
    """List the built-in packs, and the custom packs the config names, with every rule
    and its 45 CFR citations."""
    from hipaactl.commands.policies import known_packs, policies_document
    from hipaactl.report.render.json import render_json
    from hipaactl.report.render.text import render_pack_list

    packs, warnings = known_packs(_GLOBALS.config)
    warn_all(warnings)
    out(render_json(policies_document(packs)) if as_json else render_pack_list(packs))


@policies_app.command("show")
def policies_show(
    rule_id: Annotated[
        str, typer.Argument(metavar="RULE_ID", help="A rule id such as CTM-SEC-01.")
    ],
) -> None:
    """Show one rule: citation, hipaa_type, checklist source, enforcement, remediation."""
    from hipaactl.commands.policies import find_rule, known_packs
    from hipaactl.report.render.text import render_rule

    packs, warnings = known_packs(_GLOBALS.config)
    warn_all(warnings)
    out(render_rule(find_rule(packs, rule_id)))


LogArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="LOG",
        help="The change log (default: [audit] path of the config, else .hipaactl/audit.jsonl).",
    ),
]


@audit_app.command("verify")
def audit_verify(
    log: LogArgument = None,
    head: Annotated[
        str | None,
        typer.Option(
            "--head", metavar="HASH", help="The head hash printed by an apply (e.g. in a CI log)."
        ),
    ] = None,
) -> None:
    """Find edited, removed, reordered or cut records and writes with no outcome.

    The log must end exactly at its head: audit.head beside the log, or --head HASH.
    With $HIPAACTL_AUDIT_KEY set the HMACs of a keyed log are checked too (keyed mode),
    and a log that is not keyed fails; the output says which mode ran. Exit 1 naming
    each problem.
    """
    from hipaactl.commands.audit import describe_mode, run_verify

    report = run_verify(log, _GLOBALS.config, head)
    warn_all(report.warnings)
    mode = describe_mode(report)
    if not report.ok:
        err(f"error: the change log does not verify ({mode}):\n  " + "\n  ".join(report.problems))
        raise typer.Exit(1)
    out(f"OK: {report.records} records, last hash {report.last_hash} ({mode})\n")


@audit_app.command("show")
def audit_show(
    log: LogArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the records as JSON.")] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Only records at or after DATE (ISO 8601)."),
    ] = None,
) -> None:
    """Print the change log."""
    from hipaactl.commands.audit import run_show
    from hipaactl.report.render.json import render_json
    from hipaactl.report.render.text import render_audit_records

    records = run_show(log, _GLOBALS.config, since)
    out(render_json(records) if as_json else render_audit_records(records))


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="HOST",
            help="Address to listen on (default 127.0.0.1; warned unless loopback).",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, help="Port (0: any free one).")
    ] = 0,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state", metavar="FILE", help="Agency JSON document to serve (writes persist to it)."
        ),
    ] = None,
    accounts: Annotated[
        int | None,
        typer.Option(
            "--accounts",
            metavar="N",
            min=1,
            # Ten times the largest benchmark (SPEC section 10): past it the generated
            # agency only fills memory before the first request is served.
            max=100_000,
            help="Serve a generated agency of N accounts (1 to 100,000).",
        ),
    ] = None,
    latency_ms: Annotated[
        float,
        typer.Option(
            "--latency-ms",
            metavar="MS",
            min=0,
            help="Response time of every API request, work included (default 0).",
        ),
    ] = 0.0,
    rate_limit: Annotated[
        float | None,
        typer.Option(
            "--rate-limit", metavar="R", min=0.001, help="Requests/s before replying 429."
        ),
    ] = None,
    fail_rate: Annotated[
        float,
        typer.Option(
            "--fail-rate",
            metavar="P",
            min=0,
            max=1,
            help="Share of requests failing 502/503/504, 0 to 1 (default 0).",
        ),
    ] = 0.0,
    page_cap: Annotated[
        int | None, typer.Option("--page-cap", metavar="N", min=1, help="At most N items per page.")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", metavar="S", help="Seed for faults and generation (default 0).")
    ] = 0,
    ignore_field: Annotated[
        str | None,
        typer.Option(
            "--ignore-field",
            metavar="FIELD",
            help="Accept writes of FIELD but leave it unchanged (tests write verification).",
        ),
    ] = None,
    error_body_writes: Annotated[
        bool,
        typer.Option(
            "--error-body-writes",
            help="Answer every write 200 with an error body and make none of them.",
        ),
    ] = False,
) -> None:
    """Run the CTM-compatible HTTP simulator (Basic auth, CTM paging, faults, 429s).

    Prints the URL it listens on; stops cleanly on SIGINT or SIGTERM. For tests and
    benchmarks of the ctm provider: it never touches the embedded sandbox's working copy.

    It always requires Basic credentials: CTM_ACCESS_KEY / CTM_SECRET_KEY from its
    environment, else a pair generated for the run and written to a 0600 file whose
    path it prints (never the keys). A --host other than a loopback address is warned
    about: the simulator speaks plain http.
    """
    from hipaactl.commands.serve import ServeOptions, run_serve

    options = ServeOptions(
        host=host,
        port=port,
        state=state,
        accounts=accounts,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        fail_rate=fail_rate,
        page_cap=page_cap,
        seed=seed,
        ignore_field=ignore_field,
        error_body_writes=error_body_writes,
    )
    raise typer.Exit(run_serve(options))


# ---------------------------------------------------------------------------- main


def _fail(message: str, code: int = 1) -> NoReturn:
    err(f"error: {message}")
    raise SystemExit(code)


def _usage_message(exc: Exception) -> str | None:
    """Click's usage errors (vendored by newer typer, a dependency of older ones) carry
    ``format_message`` and ``exit_code``; recognising them by shape works with both."""
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        return plain_words(str(exc.format_message()))
    return None


# The validation wording of the libraries under typer, in the words --help uses.
_PLAIN_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Input should be greater than or equal to (\S+)"), r"must be \1 or more"),
    (re.compile(r"Input should be less than or equal to (\S+)"), r"must be \1 or less"),
    (re.compile(r"Input should be greater than (\S+)"), r"must be more than \1"),
    (re.compile(r"Input should be less than (\S+)"), r"must be less than \1"),
    (re.compile(r"Input should be a valid integer.*"), "must be a whole number"),
    (re.compile(r"Input should be a valid number.*"), "must be a number"),
)


def plain_words(message: str) -> str:
    """A usage error without Python or pydantic wording ("Input should be ...")."""
    for pattern, words in _PLAIN_WORDS:
        message = pattern.sub(words, message)
    return message


KNOWN_EXIT_CODES = (0, 1, 2, 3)
# typer turns Ctrl+C into exit 130; here every failure, an interrupt too, is 1.
INTERRUPTED_EXIT_CODE = 130


_PLAIN_CLASSES: dict[type[Any], type[Any]] = {}


def _plain_class(cls: type[Any]) -> type[Any]:
    """``cls`` whose help line shows only the metavar the README uses (``PLANFILE``,
    ``N``), never a Python type (``<path>``), a default or a range (``[x>=0]``): the
    help text says those in words, and the ranges are still enforced."""

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return self.metavar if getattr(self, "param_type_name", "") == "option" else None

    def no_range(self: Any) -> None:
        return None

    def usage_name(self: Any) -> str:
        # ``show PLANFILE`` as the README writes it, not typer's ``{PLANFILE}``.
        name = str(self.metavar or self.name).upper()
        name = name if self.required else f"[{name}]"
        return name if self.nargs == 1 else f"{name}..."

    if cls not in _PLAIN_CLASSES:
        methods = {
            "display_type_rich": display_type_rich,
            "_get_number_range_help_str": no_range,
            "_usage_display_name": usage_name,
        }
        _PLAIN_CLASSES[cls] = type(f"Plain{cls.__name__}", (cls,), methods)
    return _PLAIN_CLASSES[cls]


def plain_help(command: Any) -> Any:
    """Apply ``_plain_class`` to every parameter of ``command`` and its subcommands."""
    for param in command.params:
        param.show_default = False
        if type(param) not in _PLAIN_CLASSES.values():
            param.__class__ = _plain_class(type(param))
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    return command


def _raise_interrupted(signum: int, frame: FrameType | None) -> NoReturn:
    raise Interrupted


@contextmanager
def interrupts_raise_interrupted() -> Iterator[None]:
    """For the ``with`` block SIGINT raises ``Interrupted`` where Python's default
    handler would raise a plain ``KeyboardInterrupt``, which can end the process with
    SIGINT after the interrupt was reported (see ``Interrupted``). Only in that case: an
    ignored SIGINT (a background job, nohup) stays ignored; and only on the main
    thread, the one that can set handlers. ``apply`` sets its own handlers inside."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    previous = signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        yield
    finally:
        try:
            signal.signal(signal.SIGINT, previous)
        except Interrupted:  # run first, by signal.signal: the run is ending anyway
            signal.signal(signal.SIGINT, previous)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: usage errors exit 1 (never click's 2, which means drift here), and
    so does an interrupt (SIGINT), after saying so."""
    with interrupts_raise_interrupted():
        _main(list(sys.argv[1:] if argv is None else argv))


def _main(args: list[str]) -> NoReturn:
    _GLOBALS.config = default_config_path(os.environ)
    _GLOBALS.no_color = _GLOBALS.debug = False
    _GLOBALS.config_shown = None
    forget_secrets()  # each run masks the keys it loads, and no others
    try:
        args = hoist_global_options(args, _GLOBALS)
        CONSOLE.no_color = _GLOBALS.no_color
        command = plain_help(typer.main.get_command(app))
        result = command.main(args=args, prog_name="hipaactl", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        _fail("aborted")
    except HipaactlError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:
        usage = _usage_message(exc)
        if usage is not None:
            _fail(f"{usage}\n  see: hipaactl --help")
        if _GLOBALS.debug:
            err(traceback.format_exc())  # through the scrubber, like every sink
        _fail(f"unexpected {type(exc).__name__}: {exc}\n  re-run with --debug for details")
    if code == INTERRUPTED_EXIT_CODE:
        _fail("interrupted")
    raise SystemExit(code if code in KNOWN_EXIT_CODES else 1)
