"""Read the live state a run needs, concurrently across accounts, and nothing else."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from functools import partial

from hipaactl.errors import HipaactlError, ProviderError, StateReadError
from hipaactl.live.scope import Scope
from hipaactl.model.addresses import AGENCY_ADDRESS, account_address
from hipaactl.model.changes import KIND_RESOURCE_TYPES
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, LiveState, ResourceKind
from hipaactl.model.targets import wanted
from hipaactl.model.unread import Unread
from hipaactl.providers.base import Provider

Progress = Callable[[int, int], None]  # (accounts done, accounts total)
# Allocations between collections of the youngest generation while accounts are read
# (Python's default is 700).
READING_GC_THRESHOLD = 10_000
# Called in the reading thread as each account arrives, with the live agency security,
# so later stages can work while the other accounts are still being read.
AccountListener = Callable[[AgencySecurity | None, AccountState], None]


@dataclass(frozen=True)
class ReadRequest:
    """What to read of one account: ``kinds`` must be read (a failure fails the run);
    a failure to read one of ``optional`` is recorded as an ``Unread`` instead, and the
    rest of the account is still read. Each optional kind is read on its own for that."""

    info: AccountInfo
    kinds: frozenset[ResourceKind]
    optional: frozenset[ResourceKind] = frozenset()


@dataclass(frozen=True)
class AccountRead:
    """One account as read, and what of it could not be read."""

    state: AccountState
    unread: tuple[Unread, ...] = ()


def _targeted(
    kinds: frozenset[ResourceKind], account_id: int, targets: Sequence[str]
) -> frozenset[ResourceKind]:
    prefix = account_address(account_id)
    return frozenset(k for k in kinds if wanted(targets, f"{prefix}.{KIND_RESOURCE_TYPES[k]}"))


# The kinds of resource one managed account needs read, before --target narrows them.
# The pipeline supplies it (from the desired state and the packs), so reading never asks
# a later stage what to read.
KindsFor = Callable[[int], frozenset[ResourceKind]]


def read_request(
    info: AccountInfo,
    kinds_for: KindsFor,
    optional_for: KindsFor | None = None,
    targets: Sequence[str] = (),
) -> ReadRequest:
    """What to read of account ``info``: ``kinds_for(id)`` must be read and
    ``optional_for(id)`` may fail, both narrowed to the targeted resource types."""
    required = _targeted(kinds_for(info.id), info.id, targets)
    optional = _targeted(optional_for(info.id), info.id, targets) if optional_for else frozenset()
    return ReadRequest(info, required, optional - required)


def plan_reads(
    scope: Scope,
    kinds_for: KindsFor,
    targets: Sequence[str],
    optional_for: KindsFor | None = None,
) -> tuple[ReadRequest, ...]:
    """A ``read_request`` for each managed, targeted account, by id."""
    return tuple(
        read_request(info, kinds_for, optional_for, targets)
        for info in scope.managed
        if wanted(targets, account_address(info.id))
    )


def needs_agency(requests: Sequence[ReadRequest], targets: Sequence[str]) -> bool:
    """Agency security is read when targeted, or when notifications are managed: whether
    login is required decides if ``recording_url`` is PHI."""
    reads_field_lists = any("notifications" in r.kinds for r in requests)
    return wanted(targets, AGENCY_ADDRESS) or reads_field_lists


def _read_agency(provider: Provider) -> AgencySecurity:
    try:
        return provider.read_agency_security()
    except HipaactlError as exc:
        raise _agency_unread(exc) from None


def _agency_unread(exc: HipaactlError) -> StateReadError:
    return StateReadError(f"could not read agency.security: {exc}")


def unread_reason(exc: HipaactlError) -> str:
    """A provider error as one line for an ``Unread``: the message, and the hint in
    parentheses (reports list reasons one per line)."""
    return exc.message if exc.hint is None else f"{exc.message} (hint: {exc.hint})"


def is_unexposed(exc: HipaactlError) -> bool:
    """Whether a read failed because the API does not expose the resource (a 404 from an
    inferred endpoint, flagged by the provider), not because the read went wrong."""
    return isinstance(exc, ProviderError) and exc.unexposed


def read_agency_or_unread(provider: Provider) -> tuple[AgencySecurity | None, tuple[Unread, ...]]:
    """Agency security, or ``None`` and the ``Unread`` saying why it could not be read."""
    try:
        return provider.read_agency_security(), ()
    except HipaactlError as exc:
        return None, (
            Unread(AGENCY_ADDRESS, unread_reason(exc), None, AGENCY_ADDRESS, is_unexposed(exc)),
        )


def read_one(provider: Provider, request: ReadRequest) -> AccountRead:
    """The required kinds in one call (its error propagates, unless nothing is required:
    then every optional kind is unread for that reason), then each optional kind alone,
    recording a failure as an ``Unread`` of that collection."""
    try:
        state = provider.read_account(request.info, request.kinds)
    except HipaactlError as exc:
        if request.kinds:
            raise
        address = account_address(request.info.id)
        return AccountRead(
            AccountState(info=request.info),
            (Unread(address, unread_reason(exc), request.info.id, None, is_unexposed(exc)),),
        )
    unread: list[Unread] = []
    for kind in sorted(request.optional):
        resource_type = KIND_RESOURCE_TYPES[kind]
        try:
            part = provider.read_account(request.info, frozenset({kind}))
        except HipaactlError as exc:
            address = f"{account_address(request.info.id)}.{resource_type}"
            unread.append(
                Unread(
                    address, unread_reason(exc), request.info.id, resource_type, is_unexposed(exc)
                )
            )
            continue
        state = _with_kind(state, part, kind)
    return AccountRead(state, tuple(unread))


_STATE_FIELDS = frozenset(f.name for f in fields(AccountState))


def _with_kind(state: AccountState, part: AccountState, kind: ResourceKind) -> AccountState:
    """``state`` with ``kind`` taken from ``part``; a kind that is no collection (the
    plan, read into the account's info) comes with ``part``'s info."""
    if kind in _STATE_FIELDS:
        return replace(state, **{kind: getattr(part, kind)})
    return replace(state, info=part.info)


@contextmanager
def collecting_rarely() -> Iterator[None]:
    """Hold the cyclic garbage collector back while accounts are read, then restore it.

    A collection stops every worker. At Python's defaults, a plan of 1,000 accounts ran
    about 580 collections (725 ms in all, one of them 137 ms) while 8 requests waited for
    their replies to be read, and late workers then crowded the rate limit. So what was
    loaded before reading (modules, config, packs), which lives for the whole run, is
    frozen out of collections (``gc.freeze``), and the youngest generation is collected
    every ``READING_GC_THRESHOLD`` allocations: about 150 collections, 200 ms, none of
    the oldest generation. Memory is unchanged: the garbage of a read is freed by
    reference counting, not by the collector.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], READING_GC_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def cancel_reads(provider: Provider) -> None:
    """After an interrupt: have the provider stop its requests in flight, when it can
    (``cancel``), so the reading threads end now, not after their timeouts and retries
    (the pool is shut down waiting for them)."""
    cancel = getattr(provider, "cancel", None)
    if cancel is not None:
        cancel()


def read_accounts(
    provider: Provider,
    requests: Sequence[ReadRequest],
    *,
    parallelism: int,
    progress: Progress | None = None,
    on_account: Callable[[AccountState], None] | None = None,
) -> tuple[AccountState, ...]:
    """Every requested account, sorted by id (see ``read_accounts_noting_unread``);
    raises ``StateReadError`` if any optional kind could not be read either."""
    reads = read_accounts_noting_unread(
        provider, requests, parallelism=parallelism, progress=progress, on_account=on_account
    )
    unread = [u for r in reads for u in r.unread]
    if unread:
        raise StateReadError(_unread_message(unread))
    return tuple(r.state for r in reads)


def _unread_message(unread: Sequence[Unread]) -> str:
    return f"could not read {len(unread)} resource(s):\n  " + "\n  ".join(
        f"{u.address}: {u.reason}" for u in unread
    )


def read_accounts_noting_unread(
    provider: Provider,
    requests: Sequence[ReadRequest],
    *,
    parallelism: int,
    progress: Progress | None = None,
    on_account: Callable[[AccountState], None] | None = None,
) -> tuple[AccountRead, ...]:
    """Read every requested account concurrently, sorted by id; an optional kind that
    fails is noted in its ``AccountRead``. If a required read fails, raise
    ``StateReadError`` naming every account that failed. Queued reads are dropped after
    an interrupt."""
    pool = ThreadPoolExecutor(max_workers=max(1, parallelism))
    try:
        with collecting_rarely():
            futures = {pool.submit(read_one, provider, r): r.info for r in requests}
            return _collect(futures, progress, on_account)
    except KeyboardInterrupt:
        cancel_reads(provider)
        raise
    finally:
        # After an interrupt or an error, queued reads are dropped, not waited for.
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    futures: dict[Future[AccountRead], AccountInfo],
    progress: Progress | None,
    on_account: Callable[[AccountState], None] | None,
) -> tuple[AccountRead, ...]:
    """Each read as it completes, sorted by id at the end; ``StateReadError`` naming every
    account whose required reads failed."""
    reads: list[AccountRead] = []
    failures: list[str] = []
    for done, future in enumerate(as_completed(futures), start=1):
        try:
            read = future.result()
        except HipaactlError as exc:
            failures.append(f"{account_address(futures[future].id)}: {exc}")
        else:
            reads.append(read)
            if on_account is not None and not failures:
                on_account(read.state)
        if progress is not None:
            progress(done, len(futures))
    if failures:
        failures.sort()
        raise StateReadError(
            f"could not read live state of {len(failures)} account(s); nothing was planned:\n  "
            + "\n  ".join(failures)
        )
    return tuple(sorted(reads, key=lambda r: r.state.id))


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
    optional_for: KindsFor | None = None,
    agency_optional: bool = False,
    progress: Progress | None = None,
    on_account: AccountListener | None = None,
) -> LiveState:
    """Read agency security (when needed), ``kinds_for(id)`` and ``optional_for(id)`` of
    every managed account.

    Accounts are read concurrently by ``parallelism`` workers; ``progress(done, total)``
    and ``on_account(agency, state)`` are called in the reading thread as each arrives.
    Raises ``StateReadError`` naming every account (or agency.security, unless
    ``agency_optional``) whose required reads failed; nothing is returned partially. What
    optional reads could not get is in ``LiveState.unread``, with the reason.
    """
    requests = plan_reads(scope, kinds_for, targets, optional_for)
    agency: AgencySecurity | None = None
    unread: tuple[Unread, ...] = ()
    if needs_agency(requests, targets) or agency_optional:
        if agency_optional:
            agency, unread = read_agency_or_unread(provider)
        else:
            agency = _read_agency(provider)
    listener = None if on_account is None else partial(on_account, agency)
    reads = read_accounts_noting_unread(
        provider, requests, parallelism=parallelism, progress=progress, on_account=listener
    )
    return LiveState(
        agency_security=agency,
        all_accounts=all_accounts,
        accounts=tuple(r.state for r in reads),
        unread=(*unread, *(u for r in reads for u in r.unread)),
    )


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
    optional_for: KindsFor | None = None,
    check_listed: Callable[[tuple[AccountInfo, ...]], None] | None = None,
    progress: Progress | None = None,
    on_account: AccountListener | None = None,
) -> LiveState:
    """List accounts page by page and start reading each managed account as soon as its
    page arrives, so listing overlaps reading (SPEC section 10); agency security (when
    ``read_agency``) is read alongside. ``check_listed(all accounts)`` runs once the list
    is complete and may raise to stop the run; reads in flight are then dropped.
    ``optional_for(id)`` are read as in ``read_one``: a failure is noted in
    ``LiveState.unread``.

    ``progress(done, total so far)`` and ``on_account(agency, state)`` are called in this
    thread as accounts arrive. Raises ``StateReadError`` naming the list, agency.security
    or every account whose required reads failed; nothing is returned partially.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, parallelism))
    try:
        with collecting_rarely():
            agency_future = pool.submit(provider.read_agency_security) if read_agency else None

            def submit(info: AccountInfo) -> Future[AccountRead]:
                return pool.submit(read_one, provider, read_request(info, kinds_for, optional_for))

            all_accounts, futures = _list_submitting(provider, is_managed, submit)
            if check_listed is not None:
                check_listed(all_accounts)
            agency = _agency_result(agency_future)
            listener = None if on_account is None else partial(on_account, agency)
            reads = _collect(futures, progress, listener)
    except KeyboardInterrupt:
        cancel_reads(provider)
        raise
    finally:
        # After an interrupt or an error, queued reads are dropped, not waited for.
        pool.shutdown(wait=True, cancel_futures=True)
    return LiveState(
        agency_security=agency,
        all_accounts=all_accounts,
        accounts=tuple(r.state for r in reads),
        unread=tuple(u for r in reads for u in r.unread),
    )


def _list_submitting(
    provider: Provider,
    is_managed: Callable[[AccountInfo], bool],
    submit: Callable[[AccountInfo], Future[AccountRead]],
) -> tuple[tuple[AccountInfo, ...], dict[Future[AccountRead], AccountInfo]]:
    """Every listed account (by id) and the reads of the managed ones, each submitted as
    soon as its page arrives. Raises ``StateReadError`` when the list cannot be read."""
    listed: list[AccountInfo] = []
    futures: dict[Future[AccountRead], AccountInfo] = {}
    try:
        for page in account_pages(provider):
            listed.extend(page)
            futures.update((submit(info), info) for info in page if is_managed(info))
    except HipaactlError as exc:
        raise StateReadError(f"could not list accounts: {exc}") from None
    return tuple(sorted(listed, key=lambda a: a.id)), futures


def _agency_result(future: Future[AgencySecurity] | None) -> AgencySecurity | None:
    if future is None:
        return None
    try:
        return future.result()
    except HipaactlError as exc:
        raise _agency_unread(exc) from None
