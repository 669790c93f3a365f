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
    Unrecognized,
    User,
    Webhook,
)
from hipaactl.providers.ctm import mapping
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.mapping import PER_PAGE, CtmProvider
from hipaactl.providers.ctm.transport import Method, UncertainWriteError
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import (
    compliant_account,
    compliant_security,
    compliant_settings,
)
from hipaactl.providers.sandbox.inprocess import InProcessTransport

# ---- builders -----------------------------------------------------------------------------


def agency(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {"agency": {"security": compliant_security()}, "accounts": list(accounts)}


def account(account_id: int = 1001, **overrides: Any) -> dict[str, Any]:
    built = compliant_account(account_id, f"Clinic {account_id}")
    built.update(overrides)
    return built


def user(user_id: int | str, email: str, role: str = "agent") -> dict[str, Any]:
    return {"id": user_id, "uid": 9000, "email": email, "first_name": "Pat",
            "last_name": "Doe", "role": role, "status": "active"}  # fmt: skip


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


def info(account_id: int = 1001, plan: str | None = None) -> AccountInfo:
    return AccountInfo(account_id, f"Clinic {account_id}", "active", plan)


ALL_KINDS = frozenset(RESOURCE_KINDS)
BASE = "http://sandbox.hipaactl.invalid/api/v1"

# ---- reads --------------------------------------------------------------------------------


def test_list_accounts_normalises_ids_and_sorts() -> None:
    provider, _, _ = make_provider(agency(account(1002), account(1001)))
    assert provider.list_accounts() == (info(1001), info(1002))


def test_read_agency_security() -> None:
    provider, _, _ = make_provider(agency(account()))
    assert provider.read_agency_security() == AgencySecurity(
        15, "every_login", True, False, False, 7
    )


def test_read_account_reads_every_kind() -> None:
    document = agency(account(integrations=[{"id": 7, "name": "salesforce", "enabled": True}]))
    provider, _, _ = make_provider(document)
    state = provider.read_account(info(), ALL_KINDS)
    assert state.info == info(plan="Advanced")  # from the account detail
    assert state.settings == AccountSettings(True, True, "secure", "30_days")
    assert state.call_settings == (
        CallSettings("CS1001-1", "Main line", True, True, True, False, False),
    )
    assert state.users == (
        User("ada.lee@clinic-1001.example", "Ada", "Lee", "admin", "active", "USR100101"),
    )
    assert state.numbers == (TrackingNumber("TPN1001-1", "+15551001001", "Tracking line 1", True),)
    assert state.triggers == (
        Trigger("T1001-1", "Post-call follow-up", ("send_email",),
                ("Call from {{source}} at {{call_start}}", "office@clinic.example")),
    )  # fmt: skip
    assert state.webhooks == (
        Webhook("W1001-1", "Call log to EHR", "https", "hooks.clinic-1001.example", False, "end"),
    )
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


class ScriptedTransport(RecordingTransport):
    """Answers each GET with the next reply of a script (a function of the call)."""

    def __init__(self, reply: Any) -> None:
        super().__init__(SandboxBackend(agency(account())))
        self.reply = reply

    def request(self, method: Method, path: str, **kwargs: Any) -> Any:
        self.requests.append((method, path))
        return self.reply(len(self.requests), kwargs.get("params"))


def test_a_chain_past_the_page_limit_is_a_read_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mapping, "MAX_PAGES", 5)
    transport = ScriptedTransport(lambda n, _: {"users": [], "next_page": f"{BASE}/x?page={n + 1}"})
    with pytest.raises(ProviderError, match="did not end after 5 pages"):
        CtmProvider(transport, EndpointTable({})).read_users(1001)
    assert len(transport.requests) == 5


def test_next_page_may_be_a_page_number() -> None:
    pages = {1: [user("a", "a@clinic.example")], 2: [user("b", "b@clinic.example")]}

    def reply(_n: int, params: Mapping[str, Any]) -> Any:
        page = int(params["page"])
        return {"users": pages[page], "page": page, "total_pages": 2,
                "next_page": page + 1 if page < 2 else None}  # fmt: skip

    transport = ScriptedTransport(reply)
    users = CtmProvider(transport, EndpointTable({})).read_users(1001)
    assert [u.id for u in users] == ["a", "b"]
    assert [path for _, path in transport.requests] == ["/accounts/1001/users"] * 2


def test_paging_stops_at_total_pages_even_with_a_next_page() -> None:
    transport = ScriptedTransport(
        lambda n, _: {
            "users": [user(n, f"u{n}@clinic.example")],
            "total_pages": 1,
            "next_page": f"{BASE}/accounts/1001/users?page=2",
        }
    )
    assert len(CtmProvider(transport, EndpointTable({})).read_users(1001)) == 1
    assert len(transport.requests) == 1


@pytest.mark.parametrize("same_page", [True, False])
def test_an_id_listed_twice_is_a_read_error(same_page: bool) -> None:
    def reply(n: int, _params: Any) -> Any:
        first, again = user("7", "a@clinic.example"), user(7, "b@clinic.example")
        if same_page:
            return {"users": [first, again], "next_page": None}
        return {"users": [first if n == 1 else again], "next_page": 2 if n == 1 else None}

    with pytest.raises(ProviderError, match="the list changed while paging; run again"):
        CtmProvider(ScriptedTransport(reply), EndpointTable({})).read_users(1001)


@pytest.mark.parametrize(
    "body",
    [
        {"status": "error", "reason": "nope"},
        {"success": False, "message": "nope"},
        {"errors": ["nope"]},
        {"error": "nope"},
    ],
)
def test_a_200_whose_body_says_error_is_an_error(body: dict[str, Any]) -> None:
    transport = ScriptedTransport(lambda _n, _p: body)
    with pytest.raises(ProviderError, match="nope"):
        CtmProvider(transport, EndpointTable({})).read_agency_security()


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
    del document["accounts"][0]["name"]
    provider, _, _ = make_provider(document)
    with pytest.raises(ProviderError, match="accounts item 0 \\(id 1001\\) has no field 'name'"):
        provider.list_accounts()


def test_the_plan_is_read_only_when_asked_for() -> None:
    provider, transport, _ = make_provider(agency(account()))
    assert provider.read_account(info(), frozenset({"users"})).plan is None
    assert ("GET", "/accounts/1001") not in transport.requests
    listed = info(plan="Growth")  # a list that carries the plan is taken at its word
    assert provider.read_account(listed, frozenset({"plan"})).plan == "Growth"
    assert ("GET", "/accounts/1001") not in transport.requests
    assert provider.read_account(info(), frozenset({"plan"})).plan == "Advanced"


def test_status_may_be_a_list_and_ids_are_normalised() -> None:
    listed = {"id": "1001", "name": "Clinic", "status": ["active", "trial"], "created": "x"}
    transport = ScriptedTransport(lambda _n, _p: {"accounts": [listed], "next_page": None})
    accounts = CtmProvider(transport, EndpointTable({})).list_accounts()
    assert accounts == (AccountInfo(1001, "Clinic", "active, trial"),)


def test_any_role_string_is_kept() -> None:
    provider, _, _ = make_provider(agency(account(users=[user(9, "x@clinic.example", "owner")])))
    assert provider.read_users(1001)[0].role == "owner"


def test_an_unexpected_shape_names_endpoint_object_and_field() -> None:
    provider, _, _ = make_provider(agency(account(users=[user(9, "x@clinic.example", 42)])))  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as caught:
        provider.read_users(1001)
    assert caught.value.endpoint == "GET /accounts/1001/users"
    assert "users item 0 (id 9) has an unexpected 'role': 42" in str(caught.value)


def test_unrecognised_settings_are_kept_as_read() -> None:
    document = agency(account(settings={**compliant_settings(), "redaction_schedule": "weekly"}))
    document["agency"]["security"]["idle_timeout_minutes"] = 15.0
    provider, _, _ = make_provider(document)
    assert provider.read_settings(1001).redaction_schedule == Unrecognized("weekly")
    assert provider.read_agency_security().idle_timeout_minutes == Unrecognized(15.0)


def test_webhook_receiver_credentials_are_dropped() -> None:
    provider, _, _ = make_provider(agency(account()))
    webhooks = provider.read_webhooks(1001)
    assert "sandbox-receiver-secret" not in repr(webhooks)
    assert "ctm-hook" not in repr(webhooks)


def test_a_trigger_without_routing_rules_has_unreadable_actions() -> None:
    document = agency(account())
    del document["accounts"][0]["triggers"][0]["routing_rules"]
    provider, _, _ = make_provider(document)
    assert provider.read_triggers(1001)[0].texts is None


@pytest.mark.parametrize(
    ("collection", "key"),
    [("numbers", "hipaa_eligible"), ("notifications", "fields"), ("webhooks", "position")],
)
def test_missing_inferred_list_field_becomes_none(collection: str, key: str) -> None:
    document = agency(account())
    del document["accounts"][0][collection][0][key]
    provider, _, _ = make_provider(document)
    state = provider.read_account(info(), ALL_KINDS)
    assert getattr(getattr(state, collection)[0], key) is None


def test_missing_inferred_settings_and_security_fields_become_none() -> None:
    document = agency(account(settings={"encrypted_recordings": True}))
    document["agency"]["security"] = {"two_factor": "sometimes"}  # unrecognised, not missing
    provider, _, _ = make_provider(document)
    assert provider.read_settings(1001) == AccountSettings(True, None, None, None)
    assert provider.read_agency_security() == AgencySecurity(
        None, Unrecognized("sometimes"), None, None, None, None
    )


def test_unknown_fields_are_ignored() -> None:
    plain = make_provider(agency(account()))[0].read_account(info(), ALL_KINDS)
    document = agency(account())
    for key in ("call_settings", "users", "numbers", "triggers", "notifications", "webhooks"):
        document["accounts"][0][key][0]["color"] = "blue"
    document["accounts"][0]["settings"]["beta"] = {"nested": True}
    document["accounts"][0]["region"] = "us-east"
    provider, _, _ = make_provider(document)
    assert provider.read_account(info(), ALL_KINDS) == plain
    assert provider.list_accounts() == (info(),)
    document["accounts"][0]["triggers"][0]["routing_rules"][0]["actions"][0]["color"] = "red"
    texts = make_provider(document)[0].read_triggers(1001)[0].texts
    assert texts is not None and "red" in texts  # every string of an action is scanned


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


def test_apply_notification_update() -> None:
    provider, _, _ = make_provider(agency(account()))
    change = update("notification", 'account[1001].notification["N1001-1"]',
                    {"fields": ("call_start",)}, account_id=1001,
                    object_id="N1001-1")  # fmt: skip
    provider.apply_change(change)
    assert provider.read_notifications(1001)[0].fields == ("call_start",)


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
                   account_id=1001, object_id="5")  # fmt: skip  # an integer id, normalised
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


def test_a_delete_is_sent_only_after_a_re_read_confirms_the_email() -> None:
    users = [user("U5", "other@clinic.example"), user("U6", "kim@clinic.example", "admin")]
    provider, transport, _ = make_provider(agency(account(users=users)))
    stale = Change('account[1001].user["sam@clinic.example"]', "user", "delete",
                   before={"email": "sam@clinic.example"}, account_id=1001,
                   object_id="U5")  # fmt: skip
    with pytest.raises(ProviderError, match="now has another email"):
        provider.apply_change(stale)
    assert not any(method == "DELETE" for method, _ in transport.requests)


def test_user_bodies_are_flat_and_never_carry_a_password_or_an_email_update() -> None:
    provider, transport, _backend = make_provider(
        agency(account(users=[user("U5", "s@c.example")]))
    )
    bodies: list[Any] = []
    inner = transport.inner.request

    def spy(method: Method, path: str, **kwargs: Any) -> Any:
        if method != "GET":
            bodies.append(kwargs.get("body"))
        return inner(method, path, **kwargs)

    transport.inner.request = spy  # type: ignore[method-assign]
    provider.apply_change(new_user_change())
    provider.apply_change(
        update(
            "user",
            'account[1001].user["s@c.example"]',
            {"role": "admin"},
            account_id=1001,
            object_id="U5",
        )
    )
    assert bodies == [
        {"email": "rosa@clinic-1001.example", "first_name": "Rosa", "last_name": "Nguyen",
         "role": "agent"},
        {"role": "admin"},
    ]  # fmt: skip
    with pytest.raises(ProviderError, match="cannot write email"):
        provider.apply_change(
            update(
                "user",
                'account[1001].user["s@c.example"]',
                {"email": "S@c.example"},
                account_id=1001,
                object_id="U5",
            )
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (update("agency.security", "agency.security", {"two_factor": "off"}), "two_factor"),
        (update("settings", "account[1001].settings", {"redaction_schedule": "daily"},
                account_id=1001), "redaction_schedule"),
        (update("call_settings", 'account[1001].call_settings["CS1001-1"]',
                {"transcription": False}, account_id=1001, object_id="CS1001-1"),
         "transcription"),
        (update("notification", 'account[1001].notification["N1001-1"]', {"fields": []},
                account_id=1001, object_id="N1001-1"), "fields"),
        (update("user", 'account[1001].user["ada.lee@clinic-1001.example"]',
                {"role": "agent"}, account_id=1001, object_id="USR100101"), "role"),
    ],
)  # fmt: skip
def test_an_ignored_write_fails_naming_the_field(change: Change, field: str) -> None:
    backend = SandboxBackend(agency(account()), ignore_field=field)
    provider = CtmProvider(InProcessTransport(backend), EndpointTable({}))
    with pytest.raises(ProviderError) as caught:
        provider.apply_change(change)
    assert f"the API accepted the write but {field} is still" in str(caught.value)
    assert "run `hipaactl doctor`" in str(caught.value)


def test_an_ignored_field_of_a_new_user_fails_the_create() -> None:
    backend = SandboxBackend(agency(account()), ignore_field="first_name")
    provider = CtmProvider(InProcessTransport(backend), EndpointTable({}))
    with pytest.raises(ProviderError, match="a new user needs first_name"):
        provider.apply_change(new_user_change())


def test_a_write_that_changes_another_field_fails() -> None:
    class Meddling(RecordingTransport):
        def request(self, method: Method, path: str, **kwargs: Any) -> Any:
            reply = super().request(method, path, **kwargs)
            if method == "PUT":
                super().request("PUT", path, body={"allow_email_mfa": True})
            return reply

    provider = CtmProvider(Meddling(SandboxBackend(agency(account()))), EndpointTable({}))
    with pytest.raises(ProviderError, match="the write also changed allow_email_mfa"):
        provider.apply_change(
            update("agency.security", "agency.security", {"idle_timeout_minutes": 10})
        )


def test_a_write_answered_200_with_an_error_body_fails() -> None:
    backend = SandboxBackend(agency(account()), error_body_writes=True)
    provider = CtmProvider(InProcessTransport(backend), EndpointTable({}))
    with pytest.raises(ProviderError, match="the write was not accepted"):
        provider.apply_change(
            update("agency.security", "agency.security", {"idle_timeout_minutes": 10})
        )


def test_inferred_writes_need_the_opt_in() -> None:
    backend = SandboxBackend(agency(account()))
    transport = RecordingTransport(backend)
    provider = CtmProvider(transport, EndpointTable({}), allow_inferred_writes=False)
    changes = [
        update("agency.security", "agency.security", {"idle_timeout_minutes": 10}),
        update("settings", "account[1001].settings", {"redaction_schedule": "daily"},
               account_id=1001),
        update("call_settings", 'account[1001].call_settings["CS1001-1"]',
               {"transcription": False}, account_id=1001, object_id="CS1001-1"),
    ]  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        provider.check_writes(changes)
    assert "(account_settings, agency_security)" in str(caught.value)
    assert "hipaactl doctor" in str(caught.value)
    with pytest.raises(ProviderError, match="inferred endpoints"):
        provider.apply_change(changes[0])
    assert transport.requests == []
    provider.check_writes(changes[2:])  # call settings are documented
    provider.apply_change(changes[2])


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
                    account_id=1001, object_id="USR100101")  # fmt: skip
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
    # The API does not expose it: a fact a person may attest (SPEC section 7).
    assert caught.value.unexposed is True


def test_a_404_on_a_documented_endpoint_has_no_inferred_hint() -> None:
    provider, _, _ = make_provider(agency(account()))
    with pytest.raises(ProviderError) as caught:
        provider.read_users(4242)
    assert (caught.value.status, caught.value.hint, caught.value.unexposed) == (404, None, False)


def test_a_write_whose_re_read_fails_is_unknown_not_failed() -> None:
    class BlindAfterWrite(RecordingTransport):
        def request(self, method: Method, path: str, **kwargs: Any) -> Any:
            if method == "GET" and any(m == "PUT" for m, _ in self.requests):
                self.requests.append((method, path))
                raise ProviderError("gateway timeout", status=504, endpoint=f"GET {path}")
            return super().request(method, path, **kwargs)

    backend = SandboxBackend(agency(account()))
    provider = CtmProvider(BlindAfterWrite(backend), EndpointTable({}))
    with pytest.raises(UncertainWriteError, match="answered 2xx but could not be verified"):
        provider.apply_change(
            update("agency.security", "agency.security", {"idle_timeout_minutes": 10})
        )
    assert backend.snapshot()["agency"]["security"]["idle_timeout_minutes"] == 10
