"""``HttpTransport.probe``: what ``hipaactl doctor`` learns from one GET over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses

from hipaactl.errors import ProviderError
from hipaactl.providers.ctm.transport import rate_limit_header_names
from tests.providers.ctm.test_http import BASE, build


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def test_a_2xx_reply_gives_its_body_and_only_the_names_of_rate_limit_headers(
    mock: responses.RequestsMock,
) -> None:
    mock.get(
        f"{BASE}/accounts",
        json={"accounts": [], "page": 1},
        headers={"X-RateLimit-Remaining": "998", "RateLimit-Reset": "30", "X-Trace": "abc"},
    )
    reply = build(mock).transport.probe("/accounts", params={"page": 1})
    assert (reply.status, reply.json, reply.payload) == (200, True, {"accounts": [], "page": 1})
    assert reply.header_names == ("ratelimit-reset", "x-ratelimit-remaining")
    assert reply.body_keys == ("accounts", "page")


def test_an_error_status_is_returned_not_raised(mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/agency/security", status=404, json={"error": "not found"})
    reply = build(mock).transport.probe("/agency/security")
    assert (reply.status, reply.json, reply.payload, reply.body_keys) == (
        404,
        False,
        None,
        ("error",),
    )


def test_a_429_is_honoured_before_the_reply_is_taken(mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/accounts", status=429, headers={"Retry-After": "2"})
    mock.get(f"{BASE}/accounts", json={"accounts": []})
    harness = build(mock)
    assert harness.transport.probe("/accounts").status == 200
    assert harness.sleeps == [2.0] and harness.calls == 2


def test_no_reply_at_all_is_a_provider_error(mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/accounts", body=requests.exceptions.SSLError("bad certificate"))
    with pytest.raises(ProviderError, match="TLS error"):
        build(mock).transport.probe("/accounts")


def test_rate_limit_header_names_are_recognised_case_blind() -> None:
    names = ["Retry-After", "X-RateLimit-Limit", "X-Rate-Limit-Reset", "RateLimit", "Server"]
    assert rate_limit_header_names(names) == (
        "ratelimit",
        "retry-after",
        "x-rate-limit-reset",
        "x-ratelimit-limit",
    )
