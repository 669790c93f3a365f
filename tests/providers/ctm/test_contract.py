"""Contract tests: one reply fixture per CTM object type, built from the field lists of
``ctm-api-evidence.md`` (Meltano schemas generated from live replies, CTM's SDKs), sent
over HTTP with ``responses`` through the real transport and mapping.

Each fixture carries every field the evidence lists, including those hipaactl ignores,
so a mapping that tripped over any of them, or that needed a field the evidence does
not show, fails here. The fixtures are written for this project; nothing is copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from hipaactl.model.changes import Change
from hipaactl.model.state import (
    AccountInfo,
    AccountSettings,
    AgencySecurity,
    CallSettings,
    Integration,
    Notification,
    TrackingNumber,
    Trigger,
    User,
    Webhook,
)
from hipaactl.providers.ctm.credentials import Credentials
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.http import HttpTransport
from hipaactl.providers.ctm.mapping import CtmProvider

BASE = "https://ctm.test/api/v1"


def paged(list_key: str, *items: dict[str, Any]) -> dict[str, Any]:
    """A one-page list reply with CTM's paging fields (Meltano ``client.py``)."""
    return {list_key: list(items), "page": 1, "per_page": 150, "total_entries": len(items),
            "total_pages": 1, "next_page": None, "previous_page": None}  # fmt: skip


# GET /accounts (Meltano schemas/account.json; ctm-csharp accounts.cs): no plan.
ACCOUNT = {"id": 1001, "name": "Downtown Family Clinic", "status": "active",
           "user_role": "agency_admin", "agency_id": 77, "created": "2024-01-02 10:00:00",
           "updated": "2026-10-01 09:00:00", "canceled": None,
           "url": f"{BASE}/accounts/1001", "stats_url": f"{BASE}/accounts/1001/stats"}  # fmt: skip
# GET /accounts/{aid}: the detail, where the plan is (inferred path).
ACCOUNT_DETAIL = {**ACCOUNT, "plan": "Advanced"}
# GET /accounts/{aid}/call_settings (ctm-python-example): list key "configs".
CONFIG = {"id": 3301, "name": "Main line", "inbound_recordings_on": True,
          "outbound_recording_on": False, "transcription": True,
          "premium_callerid_enabled": False, "callerid_enabled": True,
          "voicemail_enabled": True, "greeting": None}  # fmt: skip
# GET /accounts/{aid}/users (Meltano schemas/user.json; ctm-ruby user.rb).
USER = {"id": "a1b2c3", "uid": 5501, "email": "Dr.Lee@downtown-clinic.example",
        "first_name": "Ada", "last_name": "Lee", "role": "reporting_manager",
        "status": "active", "account_id": 1001,
        "recording_access_settings": {"status": "login", "voicemail_only": False,
                                      "password_protected": False},
        "notifications": {"email_notify_on_missed_calls": True,
                          "email_notify_on_message": False}}  # fmt: skip
# GET /accounts/{aid}/numbers (ctm-python-example; ctm-csharp numbers.cs).
NUMBER = {"id": "TPN6A2B", "number": "+15555550101", "name": "Main line",
          "formatted": "(555) 555-0101", "active": True, "routing": "simultaneous",
          "source": {"id": 9, "name": "Google Ads"}, "call_setting": {"id": 3301}}  # fmt: skip
# GET /accounts/{aid}/triggers (Meltano schemas/trigger.json): list key "automators".
AUTOMATOR = {"id": "AUT9", "name": "Missed call text", "description": "", "position": 2,
             "delay_seconds": 30,
             "routing_rules": [
                 {"conditions": [{"type": "call_status", "operator": "is", "value": "missed"}],
                  "actions": [{"type": "send_sms", "to": "+15555550199",
                               "message": "Missed {{caller_name}} at %caller_number%"},
                              {"type": "tag_call", "tags": ["follow-up"]}]},
             ]}  # fmt: skip
# GET /accounts/{aid}/webhooks (ctm-ruby webhook.rb; MindCloud).
WEBHOOK = {"id": 71, "name": "EHR intake", "weburl": "https://ehr.example/ctm?token=abc",
           "with_resource_url": True, "position": "end", "hooktype": "call",
           "username": "receiver-user", "password": "receiver-pass"}  # fmt: skip
# Inferred endpoints: the project's contract (SPEC section 4), with extra fields.
AGENCY_SECURITY = {"idle_timeout_minutes": 15, "two_factor": "every_30_days",
                   "require_login_for_recordings": True, "allow_account_override": False,
                   "allow_email_mfa": True, "recording_link_expiry_days": 0,
                   "custom_recording_password": None}  # fmt: skip
SETTINGS = {"encrypted_recordings": True, "encrypted_recording_storage": True,
            "transcription_mode": "secure", "redaction_schedule": "60_days",
            "support_access_until": "2026-12-01"}  # fmt: skip
NOTIFICATION = {"id": 8, "name": "Missed call email", "kind": "email",
                "fields": ["call_start", "caller_number"], "recipients": 3}  # fmt: skip
INTEGRATION = {"id": 12, "name": "salesforce", "enabled": True, "connected_at": None}


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def provider() -> Iterator[CtmProvider]:
    transport = HttpTransport(BASE, Credentials("access", "secret"))
    built = CtmProvider(transport, EndpointTable({}))
    yield built
    built.close()


def serve(mock: responses.RequestsMock, path: str, body: Any, method: str = "GET") -> None:
    mock.add(method, f"{BASE}{path}", json=body)


def test_account_list_and_detail(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts", paged("accounts", ACCOUNT))
    serve(mock, "/accounts/1001", ACCOUNT_DETAIL)
    listed = provider.list_accounts()
    assert listed == (AccountInfo(1001, "Downtown Family Clinic", "active", None),)
    assert provider.read_account(listed[0], frozenset({"plan"})).plan == "Advanced"


def test_call_settings_config(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts/1001/call_settings", paged("configs", CONFIG))
    assert provider.read_call_settings(1001) == (
        CallSettings("3301", "Main line", True, False, True, True, False),
    )


def test_user(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts/1001/users", paged("users", USER))
    assert provider.read_users(1001) == (
        User("Dr.Lee@downtown-clinic.example", "Ada", "Lee", "reporting_manager", "active",
             "a1b2c3"),
    )  # fmt: skip


def test_number(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts/1001/numbers", paged("numbers", NUMBER))
    # hipaa_eligible is inferred: no public schema shows it, so it is unknown here.
    assert provider.read_numbers(1001) == (
        TrackingNumber("TPN6A2B", "+15555550101", "Main line", None),
    )


def test_automator(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts/1001/triggers", paged("automators", AUTOMATOR))
    assert provider.read_triggers(1001) == (
        Trigger("AUT9", "Missed call text", ("send_sms", "tag_call"),
                ("+15555550199", "Missed {{caller_name}} at %caller_number%", "follow-up")),
    )  # fmt: skip


def test_webhook(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts/1001/webhooks", paged("webhooks", WEBHOOK))
    webhooks = provider.read_webhooks(1001)
    assert webhooks == (Webhook("71", "EHR intake", "https", "ehr.example", True, "end"),)
    for dropped in ("receiver-user", "receiver-pass", "token=abc"):
        assert dropped not in repr(webhooks)


def test_agency_security(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/agency/security", AGENCY_SECURITY)
    assert provider.read_agency_security() == AgencySecurity(
        15, "every_30_days", True, False, True, 0
    )


def test_account_settings(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts/1001/settings", SETTINGS)
    assert provider.read_settings(1001) == AccountSettings(True, True, "secure", "60_days")


def test_notification(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts/1001/notifications", paged("notifications", NOTIFICATION))
    assert provider.read_notifications(1001) == (
        Notification("8", "Missed call email", "email", ("call_start", "caller_number")),
    )


def test_integration(mock: responses.RequestsMock, provider: CtmProvider) -> None:
    serve(mock, "/accounts/1001/integrations", paged("integrations", INTEGRATION))
    assert provider.read_integrations(1001) == (Integration("12", "salesforce", True),)


def test_user_create_posts_flat_and_reads_the_reply_wrapped_in_user(
    mock: responses.RequestsMock, provider: CtmProvider
) -> None:
    created = {**USER, "id": "n3w", "email": "rosa@downtown-clinic.example",
               "first_name": "Rosa", "last_name": "Nguyen", "role": "agent"}  # fmt: skip
    mock.add(
        "POST",
        f"{BASE}/accounts/1001/users",
        json={"status": "success", "user": created},
        match=[
            responses.matchers.json_params_matcher(
                {
                    "email": "rosa@downtown-clinic.example",
                    "first_name": "Rosa",
                    "last_name": "Nguyen",
                    "role": "agent",
                }
            )
        ],
    )
    serve(mock, "/accounts/1001/users", paged("users", USER, created))
    after = {"email": "rosa@downtown-clinic.example", "first_name": "Rosa",
             "last_name": "Nguyen", "role": "agent"}  # fmt: skip
    provider.apply_change(
        Change(
            'account[1001].user["rosa@downtown-clinic.example"]',
            "user",
            "create",
            after=after,
            account_id=1001,
        )
    )
    assert [call.request.method for call in mock.calls] == ["POST", "GET"]
