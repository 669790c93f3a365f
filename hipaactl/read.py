"""Read the live state a run needs, concurrently across accounts, and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial

from hipaactl.addresses import AGENCY_ADDRESS, account_address
from hipaactl.changes import KIND_RESOURCE_TYPES
from hipaactl.config.model import Config
from hipaactl.desired import desired_for_account, kinds_to_manage
from hipaactl.errors import HipaactlError, StateReadError
from hipaactl.providers.base import Provider
from hipaactl.scope import Scope
from hipaactl.state import AccountInfo, AccountState, AgencySecurity, LiveState, ResourceKind
from hipaactl.targets import wanted

Progress = Callable[[int, int], None]  # (accounts done, accounts total)
# Called in the reading thread as each account arrives, with the live agency security,
# so later stages can work while the other accounts are still being read.
AccountListener = Callable[[AgencySecurity | None, AccountState], None]


@dataclass(frozen=True)
class ReadRequest:
    info: AccountInfo
    kinds: frozenset[ResourceKind]


def _targeted(
    kinds: frozenset[ResourceKind], account_id: int, targets: Sequence[str]
) -> frozenset[ResourceKind]:
    prefix = account_address(account_id)
    return frozenset(k for k in kinds if wanted(targets, f"{prefix}.{KIND_RESOURCE_TYPES[k]}"))


def kinds_for_account(
    config: Config,
    account_id: int,
    read_only: frozenset[ResourceKind],
    targets: Sequence[str],
) -> frozenset[ResourceKind]:
    kinds = kinds_to_manage(desired_for_account(config, account_id)) | read_only
    return _targeted(kinds, account_id, targets)


def plan_reads(
    config: Config,
    scope: Scope,
    read_only: frozenset[ResourceKind],
    targets: Sequence[str],
    *,
    only: frozenset[ResourceKind] | None = None,
) -> tuple[ReadRequest, ...]:
    """What to read of each managed account: the kinds its config manages plus
    ``read_only``; or, with ``only`` (check), exactly those kinds whatever is managed."""
    requests = []
    for info in scope.managed:
        if not wanted(targets, account_address(info.id)):
            continue
        if only is None:
            kinds = kinds_for_account(config, info.id, read_only, targets)
        else:
            kinds = _targeted(only, info.id, targets)
        requests.append(ReadRequest(info, kinds))
    return tuple(requests)


def needs_agency(config: Config, requests: Sequence[ReadRequest], targets: Sequence[str]) -> bool:
    """Agency security is read when targeted, or when notifications are managed: whether
    login is required decides if ``recording_url`` is PHI."""
    reads_field_lists = any("notifications" in r.kinds for r in requests)
    return wanted(targets, AGENCY_ADDRESS) or reads_field_lists


def _read_agency(provider: Provider) -> AgencySecurity:
    try:
        return provider.read_agency_security()
    except HipaactlError as exc:
        raise StateReadError(f"could not read agency.security: {exc}") from None


def read_accounts(
    provider: Provider,
    requests: Sequence[ReadRequest],
    *,
    parallelism: int,
    progress: Progress | None = None,
    on_account: Callable[[AccountState], None] | None = None,
) -> tuple[AccountState, ...]:
    """Read every requested account; if any fails, raise naming every one that failed."""
    states: list[AccountState] = []
    failures: list[str] = []
    pool = ThreadPoolExecutor(max_workers=max(1, parallelism))
    try:
        futures = {pool.submit(provider.read_account, r.info, r.kinds): r for r in requests}
        for done, future in enumerate(as_completed(futures), start=1):
            request = futures[future]
            try:
                state = future.result()
            except HipaactlError as exc:
                failures.append(f"{account_address(request.info.id)}: {exc}")
            else:
                states.append(state)
                if on_account is not None and not failures:
                    on_account(state)
            if progress is not None:
                progress(done, len(requests))
    finally:
        # After an interrupt or an error, queued reads are dropped, not waited for.
        pool.shutdown(wait=True, cancel_futures=True)
    if failures:
        failures.sort()
        raise StateReadError(
            f"could not read live state of {len(failures)} account(s); nothing was planned:\n  "
            + "\n  ".join(failures)
        )
    return tuple(sorted(states, key=lambda s: s.id))


def list_accounts(provider: Provider) -> tuple[AccountInfo, ...]:
    try:
        return tuple(sorted(provider.list_accounts(), key=lambda a: a.id))
    except HipaactlError as exc:
        raise StateReadError(f"could not list accounts: {exc}") from None


def read_live_state(
    provider: Provider,
    config: Config,
    scope: Scope,
    all_accounts: tuple[AccountInfo, ...],
    *,
    read_only: frozenset[ResourceKind],
    targets: Sequence[str],
    parallelism: int,
    progress: Progress | None = None,
    only: frozenset[ResourceKind] | None = None,
    on_account: AccountListener | None = None,
) -> LiveState:
    requests = plan_reads(config, scope, read_only, targets, only=only)
    agency = _read_agency(provider) if needs_agency(config, requests, targets) else None
    listener = None if on_account is None else partial(on_account, agency)
    accounts = read_accounts(
        provider, requests, parallelism=parallelism, progress=progress, on_account=listener
    )
    return LiveState(agency_security=agency, all_accounts=all_accounts, accounts=accounts)
