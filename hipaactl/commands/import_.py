"""``hipaactl import``: read live state and write it as a desired-state file.

The gate is evaluated on the generated text itself, loaded with the real loader from a
temporary file beside the output (so its relative paths resolve the same way), and each
failing rule is mapped back onto the key that declares the value.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from hipaactl.commands.common import load, open_provider_for
from hipaactl.commands.console import progress_bar
from hipaactl.config.model import Config
from hipaactl.errors import ConfigError, HipaactlError, StateReadError, UsageError
from hipaactl.live.read import ReadRequest, list_accounts, read_accounts
from hipaactl.live.scope import classify_accounts
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, ResourceKind
from hipaactl.pipeline import check_declared_accounts, load_inputs
from hipaactl.plan.importer import (
    Document,
    ImportSource,
    build_document,
    render_document,
    violation_warnings,
    violations_by_key,
)
from hipaactl.policy.model import RuleResult
from hipaactl.providers.base import Provider

# Everything an [[account]] declares: settings, call-settings profiles, users.
IMPORT_KINDS: frozenset[ResourceKind] = frozenset({"settings", "call_settings", "users"})
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


def gate_results(
    text: str, folder: Path, today: dt.date, shown_as: str
) -> tuple[tuple[RuleResult, ...], list[str]]:
    """The gate's results on ``text``, loaded as a config file from ``folder``; or, when
    it does not load, warnings naming each problem (the file is written anyway, for the
    user to fix)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".hipaactl-import-", suffix=".toml", dir=folder)
    except OSError as exc:
        raise HipaactlError(
            f"cannot write a temporary file in {folder} to check the policy gate: {exc.strerror}",
            hint="choose an output folder you can write to with -o",
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp:
            temp.write(text)
        inputs = load_inputs(Path(name), today=today, check_files=False)
    except ConfigError as exc:
        problems = [replace(issue, file=shown_as).render() for issue in exc.issues]
        return (), [
            f"the generated file does not validate; fix it before use: {p}" for p in problems
        ]
    finally:
        Path(name).unlink(missing_ok=True)
    return inputs.gate.results, list(inputs.gate.warnings)


def render_import(
    document: Document, folder: Path, today: dt.date, shown_as: str
) -> tuple[str, list[str]]:
    """The imported file's text with ``violates`` comments from the gate, and the warnings
    to print (left out keys, violations, problems), each prefixed with ``shown_as``.
    """
    draft = render_document(document)
    results, problems = gate_results(draft, folder, today, shown_as)
    violations, unplaced = violations_by_key(document, results)
    warnings = [
        *document.notes,
        *violation_warnings(document, violations, shown_as),
        *(f"{shown_as}: {u}" for u in unplaced),
        *problems,
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
    shown_as = str(out_file) if out_file is not None else STDOUT_NAME
    return render_import(build_document(source), folder, today, shown_as)
