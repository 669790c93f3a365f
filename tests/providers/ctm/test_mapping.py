"""The CTM mapping over the in-process transport and a sandbox backend built per test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hipaactl.errors import ProviderError
from hipaactl.model.changes import Change
from hipaactl.model.state import (
    RESOURCE_KINDS,
    AccountInfo,
    AccountSettings,
    AgencySecurity,
    CallSettings,
    Integration,
    Notification,
    TrackingNumber,
    Trigger,
    User,
)
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.mapping import PER_PAGE, CtmProvider
from hipaactl.providers.ctm.transport import Method, UncertainWriteError
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import compliant_account, compliant_security
from hipaactl.providers.sandbox.inprocess import InProcessTransport

# ---- builders -----------------------------------------------------------------------------


def agency(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {"agency": {"security": compliant_security()}, "accounts": list(accounts)}


def account(account_id: int = 1001, **overrides: Any) -> dict[str, Any]:
    built = compliant_account(account_id, f"Clinic {account_id}")
    built.update(overrides)
    return built


def user(user_id: int, email: str, role: str = "agent") -> dict[str, Any]:
    return {"id": user_id, "email": email, "first_name": "Pat", "last_name": "Doe",
            "role": role, "status": "active"}  # fmt: skip


class RecordingTransport:
    """The in-process transport, remembering every request it forwards."""

    def __init__(self, backend: SandboxBackend) -> None:
        self.inner = InProcessTransport(backend)
        self.requests: list[tuple[str, str]] = []

    def request(
        self,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        self.requests.append((method, path))
        return self.inner.request(method, path, params=params, body=body)

    def close(self) -> None:
        self.inner.close()


def make_provider(
    document: dict[str, Any], *, page_cap: int | None = None, overrides: Mapping[str, str] = {}
) -> tuple[CtmProvider, RecordingTransport, SandboxBackend]:
    backend = SandboxBackend(document, page_cap=page_cap)
    transport = RecordingTransport(backend)
    return CtmProvider(transport, EndpointTable(dict(overrides))), transport, backend


def info(account_id: int = 1001) -> AccountInfo:
    return AccountInfo(account_id, f"Clinic {account_id}", "active", "Advanced")


ALL_KINDS = frozenset(RESOURCE_KINDS)

# ---- reads --------------------------------------------------------------------------------


def test_list_accounts_normalises_ids_and_sorts() -> None:
    provider, _, _ = make_provider(agency(account(1002), account(1001)))
    assert provider.list_accounts() == (info(1001), info(1002))


def test_read_agency_security() -> None:
    provider, _, _ = make_provider(agency(account()))
    assert provider.read_agency_security() == AgencySecurity(15, "every_login", True)


def test_read_account_reads_every_kind() -> None:
    document = agency(account(integrations=[{"id": 7, "name": "salesforce", "enabled": True}]))
    provider, _, _ = make_provider(document)
    state = provider.read_account(info(), ALL_KINDS)
    assert state.settings == AccountSettings(True, True, "secure", "30_days")
    assert state.call_settings == (
        CallSettings("CS1001-1", "Main line", True, True, True, False, False),
    )
    assert state.users == (
        User("ada.lee@clinic-1001.example", "Ada", "Lee", "admin", "active", "100101"),
    )
    assert state.numbers == (TrackingNumber("TPN1001-1", "+15551001001", "Tracking line 1", True),)
    assert state.triggers == (
        Trigger("T1001-1", "Post-call webhook", "webhook",
                ("call_start", "duration", "tracking_number")),
    )  # fmt: skip
    assert state.notifications == (
        Notification("N1001-1", "Daily summary", "email", ("call_start", "duration")),
    )
    assert state.integrations == (Integration("7", "salesforce", True),)


def test_read_account_reads_only_requested_kinds() -> None:
    provider, transport, _ = make_provider(agency(account()))
    state = provider.read_account(info(), frozenset({"users"}))
    assert state.users is not None
    assert (state.settings, state.call_settings, state.notifications) == (None, None, None)
    assert transport.requests == [("GET", "/accounts/1001/users")]


def test_paging_follows_next_page_when_the_server_returns_fewer_than_asked() -> None:
    users = [user(i, f"user{i}@clinic.example") for i in range(1, 8)]
    provider, transport, _ = make_provider(agency(account(users=users)), page_cap=2)
    read = provider.read_users(1001)
    assert sorted(u.id or "" for u in read) == [str(i) for i in range(1, 8)]
    paths = [path for _, path in transport.requests]
    assert paths[0] == "/accounts/1001/users"
    assert paths[1:] == [
        f"http://sandbox.hipaactl.invalid/api/v1/accounts/1001/users?page={page}"
        f"&per_page={PER_PAGE}"
        for page in (2, 3, 4)
    ]


def test_a_next_page_that_does_not_advance_is_an_error() -> None:
    class LoopingTransport(RecordingTransport):
        def request(self, method: Method, path: str, **_: Any) -> Any:
            return {"users": [], "next_page": "http://sandbox.hipaactl.invalid/api/v1/x?page=2"}

    transport = LoopingTransport(SandboxBackend(agency(account())))
    provider = CtmProvider(transport, EndpointTable({}))
    with pytest.raises(ProviderError, match="does not advance"):
        provider.read_users(1001)


def test_missing_documented_field_names_endpoint_and_field() -> None:
    broken = user(9, "x@clinic.example")
    del broken["email"]
    provider, _, _ = make_provider(agency(account(users=[broken])))
    with pytest.raises(ProviderError) as caught:
        provider.read_users(1001)
    assert caught.value.endpoint == "GET /accounts/1001/users"
    assert "'email'" in str(caught.value)


def test_missing_account_field_is_an_error() -> None:
    document = agency(account())
    del document["accounts"][0]["plan"]
    provider, _, _ = make_provider(document)
    with pytest.raises(ProviderError, match="'plan'"):
        provider.list_accounts()


def test_unexpected_documented_value_is_an_error() -> None:
    provider, _, _ = make_provider(agency(account(users=[user(9, "x@clinic.example", "owner")])))
    with pytest.raises(ProviderError, match="unexpected 'role': 'owner'"):
        provider.read_users(1001)


@pytest.mark.parametrize(
    ("collection", "key"),
    [("numbers", "hipaa_eligible"), ("triggers", "fields"), ("notifications", "fields")],
)
def test_missing_inferred_list_field_becomes_none(collection: str, key: str) -> None:
    document = agency(account())
    del document["accounts"][0][collection][0][key]
    provider, _, _ = make_provider(document)
    state = provider.read_account(info(), ALL_KINDS)
    assert getattr(getattr(state, collection)[0], key) is None


def test_missing_inferred_settings_and_security_fields_become_none() -> None:
    document = agency(account(settings={"encrypted_recordings": True}))
    document["agency"]["security"] = {"two_factor": "sometimes"}  # unreadable, not missing
    provider, _, _ = make_provider(document)
    assert provider.read_settings(1001) == AccountSettings(True, None, None, None)
    assert provider.read_agency_security() == AgencySecurity(None, None, None)


def test_unknown_fields_are_ignored() -> None:
    plain = make_provider(agency(account()))[0].read_account(info(), ALL_KINDS)
    document = agency(account())
    for key in ("call_settings", "users", "numbers", "triggers", "notifications"):
        document["accounts"][0][key][0]["color"] = "blue"
    document["accounts"][0]["settings"]["beta"] = {"nested": True}
    document["accounts"][0]["region"] = "us-east"
    provider, _, _ = make_provider(document)
    assert provider.read_account(info(), ALL_KINDS) == plain
    assert provider.list_accounts() == (info(),)


def test_live_emails_that_differ_only_in_case_are_an_error() -> None:
    users = [user(1, "Dr.Lee@clinic.example"), user(2, "dr.lee@clinic.example")]
    provider, _, _ = make_provider(agency(account(users=users)))
    with pytest.raises(ProviderError, match="share the email"):
        provider.read_users(1001)


# ---- writes -------------------------------------------------------------------------------


def update(resource_type: Any, address: str, after: dict[str, Any], **ids: Any) -> Change:
    return Change(address, resource_type, "update", before=None, after=after, **ids)


def test_apply_agency_security_update() -> None:
    provider, transport, _ = make_provider(agency(account()))
    provider.apply_change(update("agency.security", "agency.security", {"idle_timeout_minutes": 5}))
    assert provider.read_agency_security().idle_timeout_minutes == 5
    assert ("PUT", "/agency/security") in transport.requests


def test_apply_settings_update() -> None:
    provider, _, _ = make_provider(agency(account()))
    change = update("settings", "account[1001].settings",
                    {"redaction_schedule": "daily", "encrypted_recordings": False},
                    account_id=1001)  # fmt: skip
    provider.apply_change(change)
    assert provider.read_settings(1001) == AccountSettings(False, True, "secure", "daily")


def test_apply_call_settings_update() -> None:
    provider, _, _ = make_provider(agency(account()))
    change = update("call_settings", 'account[1001].call_settings["CS1001-1"]',
                    {"callerid_enabled": True}, account_id=1001, object_id="CS1001-1")  # fmt: skip
    provider.apply_change(change)
    assert provider.read_call_settings(1001)[0].callerid_enabled is True


@pytest.mark.parametrize("resource_type", ["notification", "trigger"])
def test_apply_fields_list_update(resource_type: str) -> None:
    provider, _, _ = make_provider(agency(account()))
    prefix = "N" if resource_type == "notification" else "T"
    change = update(resource_type, f'account[1001].{resource_type}["{prefix}1001-1"]',
                    {"fields": ("call_start",)}, account_id=1001,
                    object_id=f"{prefix}1001-1")  # fmt: skip
    provider.apply_change(change)
    state = provider.read_account(info(), frozenset({"notifications", "triggers"}))
    items = state.notifications if resource_type == "notification" else state.triggers
    assert items is not None
    assert items[0].fields == ("call_start",)


def new_user_change(email: str = "rosa@clinic-1001.example") -> Change:
    after = {"email": email, "first_name": "Rosa", "last_name": "Nguyen", "role": "agent"}
    return Change(f'account[1001].user["{email}"]', "user", "create", after=after,
                  account_id=1001)  # fmt: skip


def test_apply_user_create() -> None:
    provider, _, _ = make_provider(agency(account()))
    provider.apply_change(new_user_change())
    created = [u for u in provider.read_users(1001) if u.key == "rosa@clinic-1001.example"]
    assert [(u.first_name, u.role, u.status) for u in created] == [("Rosa", "agent", "active")]


def test_apply_user_update_by_id_and_by_email() -> None:
    provider, _, _ = make_provider(agency(account(users=[user(5, "Sam@clinic.example")])))
    by_id = update("user", 'account[1001].user["sam@clinic.example"]', {"role": "call_manager"},
                   account_id=1001, object_id="5")  # fmt: skip
    provider.apply_change(by_id)
    assert provider.read_users(1001)[0].role == "call_manager"
    by_email = Change('account[1001].user["sam@clinic.example"]', "user", "update",
                      before={"last_name": "Doe"}, after={"last_name": "Ortiz"},
                      account_id=1001)  # fmt: skip
    provider.apply_change(by_email)
    assert provider.read_users(1001)[0].last_name == "Ortiz"


def test_apply_user_delete_matches_email_case_insensitively() -> None:
    users = [user(5, "Sam@clinic.example"), user(6, "kim@clinic.example", "admin")]
    provider, _, _ = make_provider(agency(account(users=users)))
    change = Change('account[1001].user["sam@clinic.example"]', "user", "delete",
                    before={"email": "sam@clinic.example"}, account_id=1001)  # fmt: skip
    provider.apply_change(change)
    assert [u.key for u in provider.read_users(1001)] == ["kim@clinic.example"]


def test_read_only_resources_cannot_be_applied() -> None:
    provider, transport, _ = make_provider(agency(account()))
    change = update("number", 'account[1001].number["TPN1001-1"]', {"hipaa_eligible": True},
                    account_id=1001, object_id="TPN1001-1")  # fmt: skip
    with pytest.raises(ProviderError, match="read-only"):
        provider.apply_change(change)
    assert transport.requests == []


def test_an_update_of_an_unwritable_field_is_refused() -> None:
    provider, transport, _ = make_provider(agency(account()))
    change = update("user", 'account[1001].user["x@y.org"]', {"status": "inactive"},
                    account_id=1001, object_id="100101")  # fmt: skip
    with pytest.raises(ProviderError, match="cannot write status"):
        provider.apply_change(change)
    assert transport.requests == []


class LostReplyTransport(RecordingTransport):
    """Raises UncertainWriteError on the first POST, before or after the write happened."""

    def __init__(self, backend: SandboxBackend, *, write_first: bool) -> None:
        super().__init__(backend)
        self.write_first = write_first
        self.posts = 0

    def request(
        self,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        if method != "POST":
            return super().request(method, path, params=params, body=body)
        self.posts += 1
        if self.posts > 1:
            return super().request(method, path, params=params, body=body)
        if self.write_first:
            super().request(method, path, params=params, body=body)
        raise UncertainWriteError("the connection dropped", endpoint=f"POST {path}")


@pytest.mark.parametrize(("write_first", "posts"), [(True, 1), (False, 2)])
def test_a_post_with_a_lost_reply_creates_the_user_once(write_first: bool, posts: int) -> None:
    backend = SandboxBackend(agency(account()))
    transport = LostReplyTransport(backend, write_first=write_first)
    provider = CtmProvider(transport, EndpointTable({}))
    provider.apply_change(new_user_change("Rosa@clinic-1001.example"))
    assert transport.posts == posts
    emails = [u.key for u in provider.read_users(1001)]
    assert emails.count("rosa@clinic-1001.example") == 1


def test_a_404_on_an_inferred_endpoint_names_the_override_key() -> None:
    provider, _, _ = make_provider(
        agency(account()), overrides={"notifications": "/accounts/{aid}/alerts"}
    )
    with pytest.raises(ProviderError) as caught:
        provider.read_notifications(1001)
    assert caught.value.status == 404
    assert caught.value.hint is not None
    assert "[provider.endpoints] notifications" in caught.value.hint


def test_a_404_on_a_documented_endpoint_has_no_inferred_hint() -> None:
    provider, _, _ = make_provider(agency(account()))
    with pytest.raises(ProviderError) as caught:
        provider.read_users(4242)
    assert (caught.value.status, caught.value.hint) == (404, None)
