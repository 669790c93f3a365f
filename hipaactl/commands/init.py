"""``hipaactl init``: a safe, commented starter config, or a full example.

The starter declares only what is safe to apply anywhere (agency security, defaults, the
sandbox provider) and nothing a person must vouch for: no users, no attestations, so
``check`` reports the BAA and individual logins as ``manual`` until someone attests them
(SPEC section 1). ``--example clinic`` copies the demo, which does attest facts and
declares fictional users: it is for trying the tool, never for a real account.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from hipaactl.errors import HipaactlError, UsageError
from hipaactl.files import os_error_reason
from hipaactl.resources import package_data_dir

CONFIG_NAME = "hipaa.toml"
EXAMPLES: dict[str, tuple[str, ...]] = {"clinic": ("hipaa.toml", "sandbox/agency.json")}

STARTER = """\
# hipaactl desired state: a safe starting point.
#
# This file says how the HIPAA-relevant settings of your CallTrackingMetrics (CTM)
# agency and accounts SHOULD be. A key you leave out is not managed: hipaactl never
# changes it (but `hipaactl check` still audits it).
#
# It declares no users and no attestations: `check` reports the BAA and individual
# logins as "manual" until a person confirms them below. It starts on the embedded
# sandbox (a made-up agency, no network); see [provider] to use the real CTM API.

version = 1
policies = ["ctm-hipaa-current"]         # or "ctm-hipaa-2018", or a pack file path

[provider]
kind = "sandbox"                         # "ctm" for the real API, with CTM_ACCESS_KEY and
                                         # CTM_SECRET_KEY in the environment (never here)
# rate_limit = 10                        # requests per second, shared by all workers
# parallelism = 8                        # accounts read and written at once
# allow_inferred_writes = false          # ctm only: write to the endpoints CTM does not
                                         # document (see the README's endpoint table)

# Agency Settings > Security: these bind every user of every account.
[agency.security]
idle_timeout_minutes = 15                # 1..1440; the checklist asks for 15 or less
two_factor = "every_login"               # every_login | every_30_days | off
require_login_for_recordings = true      # a recording link needs a login
allow_account_override = false           # accounts may not weaken these settings
allow_email_mfa = false                  # email is not accepted as a second factor
recording_link_expiry_days = 7           # 1..30: recording links stop working after this

# What every managed account should look like. With no [accounts] table below, only
# [[account]] entries are managed: uncomment [accounts] to manage every account.
[defaults]
recordings = { enabled = true, encrypted = true, encrypted_storage = true }
transcription = "secure"                 # off | standard | secure | enhanced
redaction = "30_days"                    # off | manual | daily | 30_days | 60_days | 90_days
caller_id = { enabled = false, enhanced = false }
notifications = { phi_fields = "strip", extra_phi_fields = [] }   # strip | keep
users = { mode = "additive" }            # never removes users that are not declared

# Which live accounts this file manages; every live account must be managed or
# excluded with a reason (`check` fails on one that is neither).
# [accounts]
# include = ["*"]                        # integers match account ids, strings are name globs
# exclude = [{ id = 1999, reason = "marketing sandbox, no patient calls" }]

# An account that is always managed; any [defaults] key may be overridden.
# [[account]]
# id = 1001
# transcription = "off"
#
# One table per person with a login (no shared mailboxes). Users are matched by email.
# [[account.user]]
# email = "first.last@clinic.example"
# first_name = "First"
# last_name = "Last"
# role = "agent"                         # admin, call_manager, agent, ... (hipaactl schema)

# Facts no API exposes. Fill them in only when they are true, with the date a person
# confirmed them; they expire after a year.
# [attestations.baa]                     # the Business Associate Agreement signed with CTM
# counterparty = "CallTrackingMetrics"
# effective_on = 2025-03-01
# confirmed_on = 2026-01-15
# by = "compliance@clinic.example"
# document = "contracts/ctm-baa.pdf"     # relative to this file
#
# [attestations.individual_logins]       # every person has their own CTM login
# confirmed_on = 2026-01-15
# by = "compliance@clinic.example"
#
# [attestations.facts."CTM-NUM-01"]      # a fact the API could not show (doctor)
# confirmed_on = 2026-01-15
# by = "compliance@clinic.example"
# note = "every tracking number is HIPAA-eligible (checked in CTM's UI)"

# Third-party services the accounts may connect to, and whether each signed a BAA.
# [integrations]
# allow = [{ name = "salesforce", baa = true }]

# A documented, time-limited exception turns one rule into a warning.
# [policy.overrides."CTM-RED-01"]
# enforcement = "advisory"
# reason = "manual redaction after each case"
# approved_by = "privacy-officer@clinic.example"
# expires_on = 2026-12-31

# The hash-chained log of every change apply makes.
# [audit]
# path = ".hipaactl/audit.jsonl"
"""


@dataclass(frozen=True)
class InitResult:
    """The files written, and what to run next (shown to the user)."""

    written: tuple[Path, ...]
    next_steps: tuple[str, ...]


def _files(example: str | None) -> list[tuple[Path | None, str]]:
    """(source file, or None for the starter text; name inside DIR)."""
    if example is None:
        return [(None, CONFIG_NAME)]
    if example not in EXAMPLES:
        raise UsageError(
            f"--example {example!r} is not an example; examples: {', '.join(sorted(EXAMPLES))}"
        )
    folder = package_data_dir("_examples") / example
    return [(folder / name, name) for name in EXAMPLES[example]]


def _next_steps(directory: Path, example: str | None, shown: str) -> tuple[str, ...]:
    cd = f"cd {shown} && " if directory.resolve() != Path.cwd().resolve() else ""
    if example is not None:
        return (
            f"Next: {cd}hipaactl plan    (the {example} demo: fictional users and attested "
            "facts, for trying hipaactl on the sandbox only)",
        )
    return (
        f"Next: {cd}hipaactl plan    (reads the embedded sandbox; nothing is written)",
        "  then hipaactl check: the BAA and individual logins stay 'manual' until you fill "
        "in [attestations] in hipaa.toml",
        "  then uncomment [accounts] or add [[account]] entries to manage accounts, and set "
        '[provider] kind = "ctm" for the real API',
    )


def run_init(
    directory: Path, *, force: bool, example: str | None = None, shown: str | None = None
) -> InitResult:
    """Write the starter ``hipaa.toml`` (or the files of ``example``) into ``directory``,
    created if needed. Raises ``HipaactlError`` when a file exists and ``force`` is off
    (nothing is written then), or when a file cannot be written."""
    files = _files(example)
    targets = [(src, directory / name) for src, name in files]
    existing = [dst for _, dst in targets if dst.exists()]
    if existing and not force:
        raise HipaactlError(
            f"{', '.join(map(str, existing))} already exist(s); nothing was written",
            hint="pass --force to overwrite, or choose another folder",
        )
    written = []
    for src, dst in targets:
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src is None:
                dst.write_text(STARTER, encoding="utf-8")
            else:
                shutil.copyfile(src, dst)
        except OSError as exc:
            raise HipaactlError(f"cannot write {dst}: {os_error_reason(exc)}") from None
        written.append(dst)
    return InitResult(tuple(written), _next_steps(directory, example, shown or str(directory)))
