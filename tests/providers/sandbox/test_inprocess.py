"""The in-process transport: paths, next_page URLs, errors, JSON round trips."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hipaactl.errors import ProviderError
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import compliant_account, compliant_security
from hipaactl.providers.sandbox.inprocess import InProcessTransport, error_reason


def transport(*, page_cap: int | None = None) -> InProcessTransport:
    document = {
        "agency": {"security": compliant_security()},
        "accounts": [compliant_account(i, f"Clinic {i}") for i in (1001, 1002, 1003)],
    }
    return InProcessTransport(SandboxBackend(document, page_cap=page_cap))


def test_params_become_the_query() -> None:
    reply = transport().request("GET", "/accounts", params={"page": 2, "per_page": 2})
    assert [a["id"] for a in reply["accounts"]] == [1003]


def test_a_next_page_url_is_parsed_back_into_path_and_query() -> None:
    t = transport(page_cap=1)
    first = t.request("GET", "/accounts", params={"page": 1, "per_page": 150})
    second = t.request("GET", first["next_page"])
    assert [a["id"] for a in second["accounts"]] == [1002]
    assert second["page"] == 2


def test_a_link_to_another_host_is_refused() -> None:
    with pytest.raises(ProviderError, match="outside the sandbox"):
        transport().request("GET", "http://evil.example/api/v1/accounts?page=2")


def test_errors_carry_status_endpoint_and_reason() -> None:
    with pytest.raises(ProviderError) as caught:
        transport().request("GET", "/accounts", params={"per_page": 500})
    assert (caught.value.status, caught.value.endpoint) == (400, "GET /accounts")
    assert "per_page" in caught.value.reason


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ({"status": "error", "reason": "nope"}, "nope"),
        ({"error": "denied"}, "denied"),
        ("<html>", "the server answered HTTP 502"),
    ],
)
def test_error_reason(reply: Any, reason: str) -> None:
    assert error_reason(reply, 502) == reason


def test_bodies_and_replies_go_through_json() -> None:
    t = transport()
    fields: Mapping[str, Any] = {"fields": ("call_start", "duration")}  # a tuple, as in state
    reply = t.request("PUT", "/accounts/1001/notifications/N1001-1", body=fields)
    assert reply["fields"] == ["call_start", "duration"]
    reply["fields"].append("caller_name")  # the caller's copy, not the backend's
    again = t.request("GET", "/accounts/1001/notifications")
    assert again["notifications"][0]["fields"] == ["call_start", "duration"]
