"""Reading live state: required reads fail the run, optional ones are noted as unread
with the provider's reason (issue 13, item 2)."""

from __future__ import annotations

import pytest

from hipaactl.errors import ProviderError, StateReadError
from hipaactl.live.read import ReadRequest, read_accounts_noting_unread, read_one
from hipaactl.model.changes import Change
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, ResourceKind
from hipaactl.model.unread import Unread
from tests import builders

INFO = builders.account(1001).info


class KindProvider:
    """Returns empty collections, and refuses the kinds in ``refused`` (all, with None)."""

    def __init__(self, refused: frozenset[ResourceKind] | None) -> None:
        self.refused = refused
        self.calls: list[frozenset[ResourceKind]] = []

    def list_accounts(self) -> tuple[AccountInfo, ...]:
        return (INFO,)

    def read_agency_security(self) -> AgencySecurity:
        return builders.agency()

    def read_account(self, info: AccountInfo, kinds: frozenset[ResourceKind]) -> AccountState:
        self.calls.append(kinds)
        if self.refused is None or kinds & self.refused:
            raise ProviderError("backend exploded", status=403, endpoint="GET /x", hint="h")
        return AccountState(info=info, **{kind: () for kind in kinds})

    def apply_change(self, change: Change) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


def test_an_optional_kind_that_fails_is_noted_and_the_rest_is_read() -> None:
    provider = KindProvider(refused=frozenset({"numbers"}))
    request = ReadRequest(INFO, frozenset({"settings"}), frozenset({"numbers", "integrations"}))

    read = read_one(provider, request)  # type: ignore[arg-type]

    assert read.state.numbers is None
    assert read.state.integrations == ()
    assert read.unread == (
        Unread(
            "account[1001].number",
            "GET /x HTTP 403: backend exploded (hint: h)",
            1001,
            "number",
        ),
    )
    assert provider.calls[0] == frozenset({"settings"})


def test_a_required_kind_that_fails_fails_the_read_naming_the_account() -> None:
    provider = KindProvider(refused=frozenset({"settings"}))
    request = ReadRequest(INFO, frozenset({"settings"}), frozenset({"numbers"}))

    with pytest.raises(StateReadError) as caught:
        read_accounts_noting_unread(provider, [request], parallelism=1)  # type: ignore[arg-type]

    assert "account[1001]: GET /x HTTP 403: backend exploded" in str(caught.value)


def test_with_nothing_required_an_unreadable_account_is_unread_not_an_error() -> None:
    provider = KindProvider(refused=None)
    request = ReadRequest(INFO, frozenset(), frozenset({"numbers"}))

    (read,) = read_accounts_noting_unread(provider, [request], parallelism=1)  # type: ignore[arg-type]

    assert read.state == AccountState(info=INFO)
    assert [(u.address, u.resource_type) for u in read.unread] == [("account[1001]", None)]
