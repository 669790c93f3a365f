"""Reading live state: the account list is paged while the first accounts are read."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from hipaactl.errors import ConfigError, ProviderError, StateReadError
from hipaactl.live.read import READING_GC_THRESHOLD, read_streamed
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, ResourceKind
from tests import builders as b


class PagedProvider:
    """Two pages of accounts; the second is only served once an account of the first is
    being read, so the test hangs (and times out) unless reading overlaps listing."""

    def __init__(self, fail_account: int | None = None) -> None:
        self.reading = threading.Event()
        self.fail_account = fail_account
        self.order: list[str] = []

    def account_pages(self) -> Iterator[tuple[AccountInfo, ...]]:
        self.order.append("page 1")
        yield (b.account(1001).info, b.account(1002).info)
        assert self.reading.wait(timeout=5), "no account was read before page 2 was asked for"
        self.order.append("page 2")
        yield (b.account(1003).info,)

    def list_accounts(self) -> tuple[AccountInfo, ...]:
        raise AssertionError("the streamed read pages the list")

    def read_agency_security(self) -> AgencySecurity:
        return b.agency()

    def read_account(self, info: AccountInfo, kinds: frozenset[ResourceKind]) -> AccountState:
        self.reading.set()
        if info.id == self.fail_account:
            raise ProviderError("boom", endpoint=f"GET /accounts/{info.id}/users")
        return AccountState(info=info, users=())


def test_accounts_are_read_while_the_list_is_still_paged() -> None:
    provider = PagedProvider()
    seen: list[int] = []
    live = read_streamed(
        provider,  # type: ignore[arg-type]
        is_managed=lambda info: info.id != 1002,
        kinds_for=lambda _id: frozenset({"users"}),
        read_agency=True,
        parallelism=2,
        on_account=lambda agency, state: seen.append(state.id),
    )
    assert [a.id for a in live.all_accounts] == [1001, 1002, 1003]
    assert [a.id for a in live.accounts] == [1001, 1003]
    assert sorted(seen) == [1001, 1003]
    assert live.agency_security == b.agency()


def test_a_failed_account_is_named_and_nothing_is_returned() -> None:
    with pytest.raises(StateReadError, match=r"account\[1003\]: GET /accounts/1003/users"):
        read_streamed(
            PagedProvider(fail_account=1003),  # type: ignore[arg-type]
            is_managed=lambda _info: True,
            kinds_for=lambda _id: frozenset({"users"}),
            read_agency=False,
            parallelism=2,
        )


def test_a_check_of_the_whole_list_may_stop_the_run() -> None:
    def refuse(accounts: tuple[AccountInfo, ...]) -> None:
        raise ConfigError([])

    with pytest.raises(ConfigError):
        read_streamed(
            PagedProvider(),  # type: ignore[arg-type]
            is_managed=lambda _info: True,
            kinds_for=lambda _id: frozenset({"users"}),
            read_agency=False,
            parallelism=2,
            check_listed=refuse,
        )


class CollectorWatchingProvider(PagedProvider):
    """Records the collector's settings as each account is read."""

    def __init__(self, fail_account: int | None = None) -> None:
        super().__init__(fail_account)
        self.during: list[tuple[tuple[int, int, int], int]] = []

    def read_account(self, info: AccountInfo, kinds: frozenset[ResourceKind]) -> AccountState:
        self.during.append((gc.get_threshold(), gc.get_freeze_count()))
        return super().read_account(info, kinds)


@pytest.mark.parametrize("fail_account", [None, 1003])
def test_the_collector_is_held_back_while_reading_and_restored_after(
    fail_account: int | None,
) -> None:
    before = gc.get_threshold()
    provider = CollectorWatchingProvider(fail_account)

    def read() -> None:
        read_streamed(
            provider,  # type: ignore[arg-type]
            is_managed=lambda _info: True,
            kinds_for=lambda _id: frozenset({"users"}),
            read_agency=False,
            parallelism=2,
        )

    if fail_account is None:
        read()
    else:
        with pytest.raises(StateReadError):
            read()

    assert len(provider.during) == 3
    for thresholds, frozen in provider.during:
        assert thresholds[0] == max(before[0], READING_GC_THRESHOLD)
        assert frozen > 0  # what was loaded before reading is left out of collections
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
