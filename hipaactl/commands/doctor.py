"""``hipaactl doctor``: a read-only probe of the provider against the contract (SPEC section 12).

Lists the accounts, then sends one GET to every endpoint the config and the loaded packs
need for one account (``--account``, else the first managed one), and reports what came
back as names, JSON types and counts only. Exit 0 when every endpoint answered in the
expected shape, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from hipaactl import __version__
from hipaactl.commands.common import open_provider_for
from hipaactl.commands.console import err, out, write_text_file
from hipaactl.config.load import load_config
from hipaactl.config.model import Config
from hipaactl.errors import ProviderError, UsageError
from hipaactl.live.scope import classify_accounts
from hipaactl.model.state import RESOURCE_KINDS, AccountInfo, ResourceKind
from hipaactl.pipeline import checked_kinds
from hipaactl.plan.desired import desired_for_account, kinds_to_manage
from hipaactl.policy.model import Pack
from hipaactl.policy.packs import load_packs
from hipaactl.policy.views import read_only_resource_kinds
from hipaactl.providers.base import Provider
from hipaactl.providers.ctm.doctor import (
    KIND_ENDPOINTS,
    DoctorReport,
    EndpointReport,
    doctor_document,
    probe_endpoint,
    probe_error_shape,
)
from hipaactl.providers.ctm.mapping import CtmProvider
from hipaactl.report.render.doctor import render_doctor
from hipaactl.report.render.json import render_json


@dataclass(frozen=True)
class DoctorRequest:
    config: Path
    account: int | None = None  # --account
    as_json: bool = False
    out_file: Path | None = None


def needed_kinds(
    config: Config, packs: tuple[Pack, ...], account_id: int
) -> frozenset[ResourceKind]:
    """What plan and check read of one account: the managed kinds, the read-only facts
    the packs check, and every collection a rule looks at."""
    managed = kinds_to_manage(desired_for_account(config, account_id))
    return managed | read_only_resource_kinds(packs, config) | checked_kinds(packs)


def _choose(
    config: Config, accounts: tuple[AccountInfo, ...], wanted: int | None
) -> tuple[AccountInfo | None, str]:
    if wanted is not None:
        found = next((a for a in accounts if a.id == wanted), None)
        if found is None:
            raise UsageError(
                f"--account {wanted} is not among the {len(accounts)} accounts the "
                "credentials can see"
            )
        return found, "--account"
    managed = classify_accounts(config, accounts).managed
    if managed:
        return managed[0], "first managed account"
    return None, "none"


def build_doctor_report(
    config: Config, packs: tuple[Pack, ...], provider: Provider, account: int | None
) -> DoctorReport:
    """Probe ``provider`` (a CTM-mapped one: ``ctm`` or ``sandbox``) for ``config`` and
    ``packs``. Raises UsageError for another provider kind or an unknown ``--account``."""
    if not isinstance(provider, CtmProvider):
        raise UsageError(
            f"doctor probes CTM-compatible providers (ctm, sandbox); provider "
            f"{config.provider.kind!r} is not one"
        )
    transport, table = provider.transport, provider.endpoint_table
    reports: list[EndpointReport] = [probe_endpoint(transport, table, "accounts", None)]
    notes: list[str] = []
    accounts: tuple[AccountInfo, ...] | None = None
    if reports[0].ok:
        try:
            accounts = provider.list_accounts()
        except ProviderError:
            # Its reason may quote an account id or name: doctor never shows values.
            notes.append(
                "the account list could not be read to its end: run `hipaactl check` to "
                "see the reason"
            )
    reports.append(probe_endpoint(transport, table, "agency_security", None))
    chosen, chosen_by = (None, "none") if accounts is None else _choose(config, accounts, account)
    if chosen is not None:
        kinds = needed_kinds(config, packs, chosen.id)
        for kind in RESOURCE_KINDS:
            if kind in kinds:
                reports.append(probe_endpoint(transport, table, KIND_ENDPOINTS[kind], chosen.id))
    elif accounts is not None:
        notes.append("no managed account to probe: name one with --account")
    managed = None if accounts is None else len(classify_accounts(config, accounts).managed)
    return DoctorReport(
        provider=config.provider.kind,
        accounts_listed=None if accounts is None else len(accounts),
        accounts_managed=managed,
        account_chosen_by=chosen_by,
        endpoints=tuple(reports),
        error_shape=probe_error_shape(transport, table),
        notes=tuple(notes),
    )


def run_doctor(request: DoctorRequest) -> int:
    """``hipaactl doctor``: print (or write with ``-o``) the report; 0 when every needed
    endpoint answered in the expected shape, else 1. Raises ConfigError, PolicyPackError,
    UsageError, or ProviderError when the provider cannot be opened."""
    config = load_config(request.config, today=dt.date.today())
    packs = load_packs(config.policies, base_dir=config.directory, config_file=config.path)
    provider = open_provider_for(config)
    try:
        report = build_doctor_report(config, packs, provider, request.account)
    finally:
        provider.close()
    text = (
        render_json(doctor_document(report, __version__))
        if request.as_json
        else render_doctor(report)
    )
    if request.out_file is not None:
        write_text_file(request.out_file, text)
        err(f"Wrote the doctor report to {request.out_file}.")
    else:
        out(text)
    for endpoint in report.endpoints:
        if endpoint.override_key is not None:
            err(
                f"error: {endpoint.name} answered 404 at {endpoint.path}: set "
                f'{endpoint.override_key} = "/your/path" if your CTM API serves it elsewhere'
            )
    if not report.ok:
        err("doctor: some endpoints did not answer in the expected shape (see above).")
        return 1
    err("doctor: every needed endpoint answered in the expected shape.")
    return 0
