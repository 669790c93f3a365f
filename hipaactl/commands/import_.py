"""``hipaactl import``: read live state and write it as a desired-state file.

The gate is evaluated on the generated text itself, loaded with the real loader from a
temporary file beside the output (so its relative paths resolve the same way), and each
failing rule is mapped back onto the key that declares the value.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from hipaactl.commands.common import load, open_provider_for
from hipaactl.commands.console import display_path, progress_bar
from hipaactl.config.load import load_config
from hipaactl.config.model import Config
from hipaactl.errors import ConfigError, ConfigIssue, HipaactlError, StateReadError, UsageError
from hipaactl.files import os_error_reason
from hipaactl.live.read import ReadRequest, list_accounts, read_accounts
from hipaactl.live.scope import Scope, classify_accounts
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, LiveState, ResourceKind
from hipaactl.pipeline import check_declared_accounts, load_inputs
from hipaactl.plan.importer import (
    Document,
    ImportSource,
    build_document,
    render_document,
    violation_warnings,
    violations_by_key,
)
from hipaactl.policy.gate import evaluate_live
from hipaactl.policy.model import RuleResult
from hipaactl.providers.base import Provider
from hipaactl.providers.sandbox.workcopy import carry_working_copy

# Everything an [[account]] declares: settings, call-settings profiles, users.
IMPORT_KINDS: frozenset[ResourceKind] = frozenset({"settings", "call_settings", "users"})
# The resource types whose values the file declares (the rules marked in it).
IMPORTED_RESOURCES = frozenset({"agency.security", "settings", "call_settings", "user"})
STDOUT_NAME = "<stdout>"


def select_accounts(
    config: Config, listed: Sequence[AccountInfo], wanted: Sequence[int]
) -> tuple[AccountInfo, ...]:
    """The accounts named with ``--account`` (each must exist), else those the config
    manages."""
    if not wanted:
        check_declared_accounts(config, listed)
        return classify_accounts(config, tuple(listed)).managed
    by_id = {info.id: info for info in listed}
    missing = sorted(set(wanted) - set(by_id))
    if missing:
        raise UsageError(
            f"--account names accounts that do not exist in live state: "
            f"{', '.join(str(m) for m in missing)}",
            hint="run hipaactl check to list the live accounts",
        )
    return tuple(by_id[aid] for aid in sorted(set(wanted)))


def read_agency(provider: Provider) -> AgencySecurity:
    """The live agency security; raises StateReadError naming agency.security on failure."""
    try:
        return provider.read_agency_security()
    except HipaactlError as exc:
        raise StateReadError(f"could not read agency.security: {exc}") from None


def read_for_import(
    config: Config, provider: Provider, wanted: Sequence[int]
) -> tuple[AgencySecurity, tuple[AccountState, ...]]:
    """The agency and the accounts to import (``wanted`` ids, else every one the config
    selects), read with the import kinds. Raises StateReadError or ProviderError.
    """
    infos = select_accounts(config, list_accounts(provider), wanted)
    agency = read_agency(provider)
    requests = [ReadRequest(info, IMPORT_KINDS) for info in infos]
    with progress_bar("Reading live state") as progress:
        states = read_accounts(
            provider, requests, parallelism=config.provider.parallelism, progress=progress
        )
    return agency, states


def load_draft(
    text: str, folder: Path, today: dt.date
) -> tuple[tuple[RuleResult, ...], list[str], tuple[ConfigIssue, ...]]:
    """Load ``text`` as a config file from ``folder`` (so relative paths resolve the same
    way) with the real loader: (gate results, gate warnings, config issues)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".hipaactl-import-", suffix=".toml", dir=folder)
    except OSError as exc:
        raise HipaactlError(
            f"cannot write a temporary file in {display_path(folder)} to check the policy "
            f"gate: {os_error_reason(exc)}",
            hint="choose an output folder you can write to with -o",
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp:
            temp.write(text)
        inputs = load_inputs(Path(name), today=today, check_files=False)
    except ConfigError as exc:
        return (), [], exc.issues
    finally:
        Path(name).unlink(missing_ok=True)
    return inputs.gate.results, list(inputs.gate.warnings), ()


_USER_KEY = re.compile(r"^(account\[#\d+\]\.user\[#\d+\])\.")


def refusals(
    document: Document, issues: Sequence[ConfigIssue]
) -> tuple[dict[str, str], dict[str, str]]:
    """The live values the loader refused, by key path, and the users they belong to
    (by lowercased email): the config model decides what it can express, so a key or a
    role added to it later is handled here without change."""
    refused: dict[str, str] = {}
    users: dict[str, str] = {}
    for issue in issues:
        user = _USER_KEY.match(issue.key)
        email = document.entries.get(f"{user.group(1)}.email") if user else None
        if email is not None:
            field = issue.key.rpartition(".")[2]
            users[str(email.value).lower()] = (
                f"its {field} cannot be written here ({issue.message})"
            )
        elif issue.key in document.entries:
            refused[issue.key] = issue.message
    return refused, users


def live_results(source: ImportSource) -> tuple[RuleResult, ...]:
    """The packs' verdict on the live values written (what ``check`` would say about
    them), so every live value that fails a rule is marked, even where the file leaves
    the condition that makes the rule apply unmanaged."""
    infos = tuple(state.info for state in source.accounts)
    live = LiveState(source.agency, infos, source.accounts)
    scope = Scope(managed=infos, excluded=(), unclassified=())
    results, _ = evaluate_live(source.config, source.packs, live, scope, today=source.today)
    return tuple(r for r in results if r.rule.resource in IMPORTED_RESOURCES)


def render_import(source: ImportSource, shown_as: str) -> tuple[str, list[str]]:
    """The imported file's text with ``violates`` comments, and the warnings to print
    (keys left out, violations, problems), each prefixed with ``shown_as``. A first
    draft is loaded with the real loader; the values it refuses are left out with a
    comment, and the file is built again without them."""
    document = build_document(source)
    _, gate_warnings, issues = load_draft(render_document(document), source.out_dir, source.today)
    refused, refused_users = refusals(document, issues)
    if refused or refused_users:
        source = replace(source, refused=refused, refused_users=refused_users)
        document = build_document(source)
        draft = render_document(document)
        _, gate_warnings, issues = load_draft(draft, source.out_dir, source.today)
    violations, unplaced = violations_by_key(document, live_results(source))
    problems = [replace(issue, file=shown_as).render() for issue in issues]
    warnings = [
        *document.notes,
        *violation_warnings(document, violations, shown_as),
        *(f"{shown_as}: {u}" for u in unplaced),
        *gate_warnings,
        *(f"the generated file does not validate; fix it before use: {p}" for p in problems),
    ]
    return render_document(document, violations), warnings


def run_import(
    config_path: Path,
    *,
    accounts: tuple[int, ...],
    out_file: Path | None,
    today: dt.date | None = None,
) -> tuple[str, list[str]]:
    """The TOML text of a config matching live state, and the warnings to show."""
    today = today or dt.date.today()
    inputs = load(config_path)
    provider = open_provider_for(inputs.config)
    try:
        agency, states = read_for_import(inputs.config, provider, accounts)
    finally:
        provider.close()
    folder = (out_file.parent if out_file is not None else Path.cwd()).resolve()
    source = ImportSource(
        config=inputs.config,
        packs=inputs.packs,
        agency=agency,
        accounts=states,
        out_dir=folder,
        today=today,
    )
    shown_as = display_path(out_file) if out_file is not None else STDOUT_NAME
    return render_import(source, shown_as)


def carry_sandbox_state(config_path: Path, out_file: Path) -> tuple[Path | None, str | None]:
    """The sandbox keeps one working copy per folder (SPEC section 4): a file imported
    into another folder gets a copy of this one's, else it would plan against the seed.
    Other providers read the same live state from anywhere."""
    config = load_config(config_path, today=dt.date.today(), check_files=False)
    if config.provider.kind != "sandbox":
        return None, None
    return carry_working_copy(config.directory, out_file.resolve().parent)
