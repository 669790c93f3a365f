"""Read the live state a run needs, concurrently across accounts, and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial

from hipaactl.errors import HipaactlError, StateReadError
from hipaactl.live.scope import Scope
from hipaactl.model.addresses import AGENCY_ADDRESS, account_address
from hipaactl.model.changes import KIND_RESOURCE_TYPES
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, LiveState, ResourceKind
from hipaactl.model.targets import wanted
from hipaactl.providers.base import Provider

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


# The kinds of resource one managed account needs read, before --target narrows them.
# The pipeline supplies it (from the desired state and the packs), so reading never asks
# a later stage what to read.
KindsFor = Callable[[int], frozenset[ResourceKind]]


def plan_reads(
    scope: Scope, kinds_for: KindsFor, targets: Sequence[str]
) -> tuple[ReadRequest, ...]:
    """What to read of each managed, targeted account: ``kinds_for(account_id)`` narrowed
    to the targeted resource types. Returns one ``ReadRequest`` per account, by id."""
    requests = []
    for info in scope.managed:
        if not wanted(targets, account_address(info.id)):
            continue
        requests.append(ReadRequest(info, _targeted(kinds_for(info.id), info.id, targets)))
    return tuple(requests)


def needs_agency(requests: Sequence[ReadRequest], targets: Sequence[str]) -> bool:
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
    """Read every requested account, sorted by id; if any fails, raise ``StateReadError``
    naming every one that failed. Queued reads are dropped after an interrupt."""
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
    """Every account the credentials reach, sorted by id.

    Raises ``StateReadError`` naming the provider's reason when the list cannot be read.
    """
    try:
        return tuple(sorted(provider.list_accounts(), key=lambda a: a.id))
    except HipaactlError as exc:
        raise StateReadError(f"could not list accounts: {exc}") from None


def read_live_state(
    provider: Provider,
    scope: Scope,
    all_accounts: tuple[AccountInfo, ...],
    *,
    kinds_for: KindsFor,
    targets: Sequence[str],
    parallelism: int,
    progress: Progress | None = None,
    on_account: AccountListener | None = None,
) -> LiveState:
    """Read agency security (when needed) and ``kinds_for(id)`` of every managed account.

    Accounts are read concurrently by ``parallelism`` workers; ``progress(done, total)``
    and ``on_account(agency, state)`` are called in the reading thread as each arrives.
    Raises ``StateReadError`` naming every account (or agency.security) that failed;
    nothing is returned partially.
    """
    requests = plan_reads(scope, kinds_for, targets)
    agency = _read_agency(provider) if needs_agency(requests, targets) else None
    listener = None if on_account is None else partial(on_account, agency)
    accounts = read_accounts(
        provider, requests, parallelism=parallelism, progress=progress, on_account=listener
    )
    return LiveState(agency_security=agency, all_accounts=all_accounts, accounts=accounts)


def account_pages(provider: Provider) -> Iterator[tuple[AccountInfo, ...]]:
    """The account list page by page as the provider reads it; a provider that does not
    page (no ``account_pages`` method) gives its whole list as one page."""
    pages = getattr(provider, "account_pages", None)
    if pages is None:
        yield tuple(provider.list_accounts())
        return
    yield from pages()


def read_streamed(
    provider: Provider,
    *,
    is_managed: Callable[[AccountInfo], bool],
    kinds_for: KindsFor,
    read_agency: bool,
    parallelism: int,
    check_listed: Callable[[tuple[AccountInfo, ...]], None] | None = None,
    progress: Progress | None = None,
    on_account: AccountListener | None = None,
) -> LiveState:
    """List accounts page by page and start reading each managed account as soon as its
    page arrives, so listing overlaps reading (SPEC section 10); agency security (when
    ``read_agency``) is read alongside. ``check_listed(all accounts)`` runs once the list
    is complete and may raise to stop the run; reads in flight are then dropped.

    ``progress(done, total so far)`` and ``on_account(agency, state)`` are called in this
    thread as accounts arrive. Raises ``StateReadError`` naming the list, agency.security
    or every account that failed; nothing is returned partially.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, parallelism))
    listed: list[AccountInfo] = []
    futures: dict[Future[AccountState], AccountInfo] = {}
    try:
        agency_future = pool.submit(provider.read_agency_security) if read_agency else None
        try:
            for page in account_pages(provider):
                listed.extend(page)
                for info in page:
                    if is_managed(info):
                        futures[pool.submit(provider.read_account, info, kinds_for(info.id))] = info
        except HipaactlError as exc:
            raise StateReadError(f"could not list accounts: {exc}") from None
        all_accounts = tuple(sorted(listed, key=lambda a: a.id))
        if check_listed is not None:
            check_listed(all_accounts)
        agency = _agency_result(agency_future)
        states = _collect(futures, agency, progress, on_account)
    finally:
        # After an interrupt or an error, queued reads are dropped, not waited for.
        pool.shutdown(wait=True, cancel_futures=True)
    return LiveState(agency_security=agency, all_accounts=all_accounts, accounts=states)


def _agency_result(future: Future[AgencySecurity] | None) -> AgencySecurity | None:
    if future is None:
        return None
    try:
        return future.result()
    except HipaactlError as exc:
        raise StateReadError(f"could not read agency.security: {exc}") from None


def _collect(
    futures: dict[Future[AccountState], AccountInfo],
    agency: AgencySecurity | None,
    progress: Progress | None,
    on_account: AccountListener | None,
) -> tuple[AccountState, ...]:
    states: list[AccountState] = []
    failures: list[str] = []
    for done, future in enumerate(as_completed(futures), start=1):
        try:
            state = future.result()
        except HipaactlError as exc:
            failures.append(f"{account_address(futures[future].id)}: {exc}")
        else:
            states.append(state)
            if on_account is not None and not failures:
                on_account(agency, state)
        if progress is not None:
            progress(done, len(futures))
    if failures:
        failures.sort()
        raise StateReadError(
            f"could not read live state of {len(failures)} account(s); nothing was planned:\n  "
            + "\n  ".join(failures)
        )
    return tuple(sorted(states, key=lambda s: s.id))
