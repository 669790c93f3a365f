from __future__ import annotations

import base64
import email.utils
import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from hipaactl import __version__
from hipaactl.config.model import ProviderSettings
from hipaactl.errors import AuthenticationError, ConfigError, ProviderError
from hipaactl.providers.base import ProviderContext
from hipaactl.providers.ctm import create_provider
from hipaactl.providers.ctm.credentials import Credentials
from hipaactl.providers.ctm.http import HttpTransport, TransportStats
from hipaactl.providers.ctm.retry import Backoff
from hipaactl.providers.ctm.transport import Method, UncertainWriteError

BASE = "https://ctm.test/api/v1"
ACCESS = "AK-access-4242"
SECRET = "sk-very-secret-9f8e7d"
TOKEN = base64.b64encode(f"{ACCESS}:{SECRET}".encode()).decode()
NOW = 1_750_000_000.0  # the injected wall clock, for Retry-After dates


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self) -> None:
        self.acquired += 1


@dataclass
class Harness:
    transport: HttpTransport
    mock: responses.RequestsMock
    limiter: CountingLimiter
    sleeps: list[float] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.mock.calls)


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def build(mock: responses.RequestsMock, **options: Any) -> Harness:
    limiter = CountingLimiter()
    sleeps: list[float] = []
    options.setdefault("random", lambda: 0.5)
    transport = HttpTransport(
        options.pop("base_url", BASE),
        Credentials(ACCESS, SECRET),
        limiter=limiter,
        sleep=sleeps.append,
        wall_clock=lambda: NOW,
        **options,
    )
    return Harness(transport, mock, limiter, sleeps)


@pytest.fixture
def harness(mock: responses.RequestsMock) -> Iterator[Harness]:
    built = build(mock)
    yield built
    built.transport.close()


def lost_reply() -> requests.ConnectionError:
    """What requests raises when the server hangs up after the request was sent."""
    return requests.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("closed without response"))
    )


def refused() -> requests.ConnectionError:
    """What requests raises when the connection cannot be opened: nothing was sent."""
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/api/v1/accounts", reason))  # type: ignore[arg-type]


def error_chain(error: BaseException) -> Iterator[BaseException]:
    current: BaseException | None = error
    while current is not None:
        yield current
        current = current.__cause__ or current.__context__


def assert_secret_free(error: BaseException) -> None:
    for link in error_chain(error):
        texts = [str(link), repr(link), repr(link.args), repr(vars(link))]
        for secret in (SECRET, ACCESS, TOKEN):
            assert all(secret not in text for text in texts), f"{secret!r} leaked in {texts}"
    # no requests exception (which holds the request and its Authorization header)
    assert error.__cause__ is None
    assert error.__context__ is None


# -- what every request carries ----------------------------------------------------------


def test_sends_basic_auth_json_accept_and_user_agent(harness: Harness) -> None:
    harness.mock.put(
        f"{BASE}/accounts/1/settings",
        json={"encrypted_recordings": True},
        match=[matchers.json_params_matcher({"encrypted_recordings": True})],
    )

    reply = harness.transport.request(
        "PUT", "/accounts/1/settings", body={"encrypted_recordings": True}
    )

    assert reply == {"encrypted_recordings": True}
    headers = harness.mock.calls[0].request.headers
    assert headers["Authorization"] == f"Basic {TOKEN}"
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == f"hipaactl/{__version__}"


def test_passes_query_parameters(harness: Harness) -> None:
    harness.mock.get(
        f"{BASE}/accounts",
        json={"accounts": []},
        match=[matchers.query_param_matcher({"page": "1", "per_page": "150"})],
    )

    assert harness.transport.request("GET", "/accounts", params={"page": 1, "per_page": 150}) == {
        "accounts": []
    }


def test_uses_the_configured_timeouts(mock: responses.RequestsMock) -> None:
    harness = build(mock, timeout=(2.0, 9.0))
    mock.get(f"{BASE}/accounts", json={})

    harness.transport.request("GET", "/accounts")

    assert mock.calls[0].request.req_kwargs["timeout"] == (2.0, 9.0)  # type: ignore[attr-defined]


# -- retries and waits ---------------------------------------------------------------------


def test_429_is_retried_after_the_seconds_in_retry_after(harness: Harness) -> None:
    harness.mock.get(f"{BASE}/accounts", status=429, headers={"Retry-After": "3"})
    harness.mock.get(f"{BASE}/accounts", json={"accounts": [{"id": 1}]})

    reply = harness.transport.request("GET", "/accounts")

    assert reply == {"accounts": [{"id": 1}]}
    assert harness.sleeps == [3.0]
    assert harness.transport.stats == TransportStats(requests_sent=2, rate_limited=1, retries=1)


def test_retry_after_as_an_http_date(harness: Harness) -> None:
    when = email.utils.formatdate(NOW + 7, usegmt=True)
    harness.mock.get(f"{BASE}/accounts", status=503, headers={"Retry-After": when})
    harness.mock.get(f"{BASE}/accounts", json={})

    harness.transport.request("GET", "/accounts")

    assert harness.sleeps == [7.0]


@pytest.mark.parametrize("retry_after", ["3600", email.utils.formatdate(NOW + 86_400, usegmt=True)])
def test_retry_after_is_capped_at_60_seconds(harness: Harness, retry_after: str) -> None:
    harness.mock.get(f"{BASE}/accounts", status=429, headers={"Retry-After": retry_after})
    harness.mock.get(f"{BASE}/accounts", json={})

    harness.transport.request("GET", "/accounts")

    assert harness.sleeps == [60.0]


def test_without_retry_after_backoff_doubles_with_jitter_up_to_its_cap(
    mock: responses.RequestsMock,
) -> None:
    jitter = iter([0.0, 1.0, 0.0, 1.0])
    harness = build(mock, backoff=Backoff(base=1.0, maximum=4.0), random=lambda: next(jitter))
    for _ in range(4):
        mock.get(f"{BASE}/accounts", status=502)
    mock.get(f"{BASE}/accounts", json={})

    harness.transport.request("GET", "/accounts")

    # the n-th wait lies between half and all of min(4, 2**(n-1)) seconds
    assert harness.sleeps == [0.5, 2.0, 2.0, 4.0]


def test_503_until_attempts_run_out_is_one_provider_error(mock: responses.RequestsMock) -> None:
    harness = build(mock, max_attempts=4)
    mock.get(f"{BASE}/accounts", status=503, json={"status": "error", "reason": "maintenance"})

    with pytest.raises(ProviderError) as caught:
        harness.transport.request("GET", "/accounts", params={"page": 1})

    error = caught.value
    assert error.status == 503
    assert error.endpoint == "GET /accounts"
    assert "maintenance" in str(error)
    assert "gave up after 4 attempts" in str(error)
    assert "page" not in str(error)  # no query in the endpoint
    assert harness.calls == 4
    assert len(harness.sleeps) == 3
    assert_secret_free(error)


def test_a_put_whose_every_attempt_got_503_has_an_unknown_outcome(
    mock: responses.RequestsMock,
) -> None:
    harness = build(mock, max_attempts=3)
    mock.put(f"{BASE}/agency/security", status=503, json={"reason": "busy"})

    with pytest.raises(UncertainWriteError) as caught:
        harness.transport.request("PUT", "/agency/security", body={"two_factor": "off"})

    assert "outcome of this write is unknown" in str(caught.value)
    assert harness.calls == 3


def test_a_put_refused_with_429_to_the_end_is_a_plain_failure(
    mock: responses.RequestsMock,
) -> None:
    harness = build(mock, max_attempts=2)
    mock.put(f"{BASE}/agency/security", status=429, json={"reason": "slow down"})

    with pytest.raises(ProviderError) as caught:
        harness.transport.request("PUT", "/agency/security", body={"two_factor": "off"})

    assert not isinstance(caught.value, UncertainWriteError)


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_2xx_reply_that_is_not_json_is_retried(harness: Harness, method: Method) -> None:
    url = f"{BASE}/agency/security"
    harness.mock.add(method, url, body='{"idle_timeout_minutes": 1', status=200)
    harness.mock.add(method, url, body="", status=200)
    harness.mock.add(method, url, json={"idle_timeout_minutes": 15})

    reply = harness.transport.request(method, "/agency/security", body=None)

    assert reply == {"idle_timeout_minutes": 15}
    assert harness.calls == 3


@pytest.mark.parametrize(
    "failure",
    [lost_reply(), refused(), requests.ReadTimeout(), requests.ConnectTimeout()],
    ids=["lost", "refused", "read-timeout", "connect-timeout"],
)
def test_connection_failures_are_retried_for_get(harness: Harness, failure: Exception) -> None:
    harness.mock.get(f"{BASE}/accounts", body=failure)
    harness.mock.get(f"{BASE}/accounts", json={"accounts": []})

    assert harness.transport.request("GET", "/accounts") == {"accounts": []}
    assert harness.calls == 2


def test_a_put_is_retried_after_a_504(harness: Harness) -> None:
    harness.mock.put(f"{BASE}/accounts/1/call_settings/CS1", status=504)
    harness.mock.put(f"{BASE}/accounts/1/call_settings/CS1", json={"id": "CS1"})

    reply = harness.transport.request(
        "PUT", "/accounts/1/call_settings/CS1", body={"callerid_enabled": False}
    )

    assert reply == {"id": "CS1"}
    assert [json.loads(c.request.body or b"{}") for c in harness.mock.calls] == [
        {"callerid_enabled": False}
    ] * 2


@pytest.mark.parametrize("status", [400, 404, 422, 500, 409])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
def test_client_errors_and_500_are_never_retried(
    harness: Harness, method: Method, status: int
) -> None:
    harness.mock.add(method, f"{BASE}/accounts/1/users", status=status, json={"error": "nope"})

    with pytest.raises(ProviderError) as caught:
        harness.transport.request(method, "/accounts/1/users")

    assert type(caught.value) is ProviderError  # not UncertainWriteError
    assert caught.value.status == status
    assert caught.value.endpoint == f"{method} /accounts/1/users"
    assert "nope" in str(caught.value)
    assert harness.calls == 1
    assert harness.sleeps == []


def test_the_server_reason_comes_from_status_error_or_text(harness: Harness) -> None:
    url = f"{BASE}/accounts"
    harness.mock.get(url, status=400, json={"status": "error", "reason": "per_page > 150"})
    harness.mock.get(url, status=400, body="plain words\n  here")
    harness.mock.get(url, status=400, body="<html><body>Bad</body></html>")
    harness.mock.get(url, status=400, body="x" * 1000)

    reasons = []
    for _ in range(4):
        with pytest.raises(ProviderError) as caught:
            harness.transport.request("GET", "/accounts")
        reasons.append(caught.value.reason)

    assert reasons[:3] == ["per_page > 150", "plain words here", "Bad Request"]
    assert len(reasons[3]) == 200


# -- DELETE ---------------------------------------------------------------------------------


def test_a_retried_delete_that_meets_404_has_succeeded(harness: Harness) -> None:
    url = f"{BASE}/accounts/1/users/9"
    harness.mock.delete(url, status=503)
    harness.mock.delete(url, status=404, json={"error": "not found"})

    assert harness.transport.request("DELETE", "/accounts/1/users/9") is None
    assert harness.calls == 2


def test_a_first_delete_that_meets_404_is_an_error(harness: Harness) -> None:
    harness.mock.delete(f"{BASE}/accounts/1/users/9", status=404, json={"error": "not found"})

    with pytest.raises(ProviderError) as caught:
        harness.transport.request("DELETE", "/accounts/1/users/9")

    assert caught.value.status == 404


@pytest.mark.parametrize(("status", "body"), [(204, ""), (200, ""), (200, "ok, deleted")])
def test_a_delete_needs_no_json_reply(harness: Harness, status: int, body: str) -> None:
    harness.mock.delete(f"{BASE}/accounts/1/users/9", status=status, body=body)

    assert harness.transport.request("DELETE", "/accounts/1/users/9") is None
    assert harness.calls == 1


# -- POST never creates twice ---------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        {"body": lost_reply()},
        {"body": requests.ReadTimeout()},
        {"status": 502},
        {"status": 503},
        {"status": 504},
        {"status": 201, "body": '{"user": {"id": '},
        {"status": 200, "body": ""},
    ],
    ids=["lost", "read-timeout", "502", "503", "504", "truncated", "empty"],
)
def test_a_post_with_an_unknown_outcome_is_sent_once(
    harness: Harness, reply: dict[str, Any]
) -> None:
    url = f"{BASE}/accounts/1/users"
    harness.mock.post(url, **reply)
    harness.mock.post(url, status=201, json={"user": {"id": 2}})  # must never be reached

    with pytest.raises(UncertainWriteError) as caught:
        harness.transport.request("POST", "/accounts/1/users", body={"user": {"email": "a@x"}})

    assert harness.calls == 1
    assert caught.value.endpoint == "POST /accounts/1/users"
    assert "unknown" in str(caught.value)
    assert_secret_free(caught.value)


@pytest.mark.parametrize(
    "first",
    [
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"body": refused()},
        {"body": requests.ConnectTimeout()},
    ],
    ids=["429", "refused", "connect-timeout"],
)
def test_a_post_that_provably_created_nothing_is_retried(
    harness: Harness, first: dict[str, Any]
) -> None:
    url = f"{BASE}/accounts/1/users"
    harness.mock.post(url, **first)
    harness.mock.post(url, status=201, json={"user": {"id": 2}})

    reply = harness.transport.request("POST", "/accounts/1/users", body={"user": {"email": "a@x"}})

    assert reply == {"user": {"id": 2}}
    assert harness.calls == 2


def test_a_post_turned_away_with_429_until_attempts_run_out_is_not_uncertain(
    mock: responses.RequestsMock,
) -> None:
    harness = build(mock, max_attempts=3)
    mock.post(f"{BASE}/accounts/1/users", status=429)

    with pytest.raises(ProviderError) as caught:
        harness.transport.request("POST", "/accounts/1/users", body={"user": {}})

    assert type(caught.value) is ProviderError
    assert caught.value.status == 429
    assert "rate_limit" in str(caught.value)
    assert harness.calls == 3


def test_a_post_after_a_429_then_a_lost_reply_is_uncertain(harness: Harness) -> None:
    url = f"{BASE}/accounts/1/users"
    harness.mock.post(url, status=429)
    harness.mock.post(url, body=lost_reply())
    harness.mock.post(url, status=201, json={})

    with pytest.raises(UncertainWriteError):
        harness.transport.request("POST", "/accounts/1/users", body={"user": {}})

    assert harness.calls == 2


# -- pagination -----------------------------------------------------------------------------


def read_all_pages(transport: HttpTransport, path: str) -> list[Any]:
    """What the mapping layer does: ask for full pages, follow next_page to the end."""
    items: list[Any] = []
    reply = transport.request("GET", path, params={"page": 1, "per_page": 150})
    while True:
        items.extend(reply["users"])
        if not reply.get("next_page"):
            return items
        reply = transport.request("GET", reply["next_page"])


def page(number: int, ids: list[int], next_page: str | None) -> dict[str, Any]:
    return {
        "users": [{"id": i} for i in ids],
        "page": number,
        "per_page": 150,
        "total_entries": 5,
        "total_pages": 3,
        "next_page": next_page,
    }


def test_follows_next_page_to_the_end_when_pages_are_short(harness: Harness) -> None:
    url = f"{BASE}/accounts/1/users"
    second = f"{url}?page=2&per_page=150"
    third = "https://CTM.test:443/api/v1/accounts/1/users?page=3&per_page=150"
    harness.mock.get(
        url,
        json=page(1, [1, 2], second),
        match=[matchers.query_param_matcher({"page": "1", "per_page": "150"})],
    )
    harness.mock.get(
        url,
        json=page(2, [3, 4], third),
        match=[matchers.query_param_matcher({"page": "2", "per_page": "150"})],
    )
    harness.mock.get(
        url,
        json=page(3, [5], None),
        match=[matchers.query_param_matcher({"page": "3", "per_page": "150"})],
    )

    items = read_all_pages(harness.transport, "/accounts/1/users")

    assert [item["id"] for item in items] == [1, 2, 3, 4, 5]
    assert harness.calls == 3
    assert harness.limiter.acquired == 3
    assert all(c.request.headers["Authorization"] == f"Basic {TOKEN}" for c in harness.mock.calls)


@pytest.mark.parametrize(
    "next_page",
    [
        "https://evil.test/api/v1/accounts/1/users?page=2",
        "http://ctm.test/api/v1/accounts/1/users?page=2",
        "https://ctm.test:8443/api/v1/accounts/1/users?page=2",
        "https://ctm.test.evil.test/api/v1/accounts/1/users?page=2",
        "https://someone:pw@ctm.test/api/v1/accounts/1/users?page=2",
        "https://ctm.test:99999/api/v1/accounts/1/users?page=2",
    ],
)
def test_next_page_to_another_origin_is_refused_and_nothing_is_sent(
    harness: Harness, next_page: str
) -> None:
    # Nothing is registered for next_page: a request there would still be recorded.
    harness.mock.get(f"{BASE}/accounts/1/users", json=page(1, [1], next_page))

    with pytest.raises(ProviderError, match="refusing to follow next_page") as caught:
        read_all_pages(harness.transport, "/accounts/1/users")

    assert harness.calls == 1
    assert harness.limiter.acquired == 1
    assert "pw" not in str(caught.value)


def test_redirects_are_not_followed(harness: Harness) -> None:
    harness.mock.get(
        f"{BASE}/accounts", status=302, headers={"Location": "https://elsewhere.test/accounts"}
    )
    harness.mock.get("https://elsewhere.test/accounts", json={})

    with pytest.raises(ProviderError, match=r"redirect to elsewhere\.test") as caught:
        harness.transport.request("GET", "/accounts")

    assert caught.value.status == 302
    assert harness.calls == 1


# -- credentials ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_an_authentication_error(harness: Harness, status: int) -> None:
    harness.mock.get(f"{BASE}/accounts", status=status, json={"error": "invalid api key"})

    with pytest.raises(AuthenticationError) as caught:
        harness.transport.request("GET", "/accounts")

    message = str(caught.value)
    assert "CTM refused the credentials: check CTM_ACCESS_KEY / CTM_SECRET_KEY" in message
    assert "invalid api key" in message
    assert caught.value.status == status
    assert caught.value.exit_code == 1
    assert harness.calls == 1
    assert_secret_free(caught.value)


def scenario_echoed_secret(mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/accounts", status=400, json={"error": f"bad key {ACCESS}:{SECRET} {TOKEN}"})


def scenario_lost_connection(mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/accounts", body=lost_reply())


def scenario_refused_credentials(mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/accounts", status=401, body=f"Basic {TOKEN} rejected")


def scenario_truncated_replies(mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/accounts", body="{")


@pytest.mark.parametrize(
    "scenario",
    [
        scenario_echoed_secret,
        scenario_lost_connection,
        scenario_refused_credentials,
        scenario_truncated_replies,
    ],
)
def test_credentials_appear_in_no_error(
    mock: responses.RequestsMock, scenario: Callable[[responses.RequestsMock], None]
) -> None:
    harness = build(mock, max_attempts=2)
    scenario(mock)

    with pytest.raises(ProviderError) as caught:
        harness.transport.request("GET", "/accounts")

    assert_secret_free(caught.value)
    assert SECRET not in repr(harness.transport)
    assert ACCESS not in repr(harness.transport)


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        (f"https://{ACCESS}:{SECRET}@ctm.test/api/v1", "must not hold credentials"),
        (f"https://{SECRET}@ctm.test/api/v1", "must not hold credentials"),
        ("http://ctm.test/api/v1", "plain http"),
        ("ftp://ctm.test/api/v1", "https://"),
        ("ctm.test/api/v1", "https://"),
        ("https://ctm.test:port/api", "not a valid URL"),
        ("https://ctm.test/api/v1?key=1", "query"),
    ],
)
def test_an_unusable_base_url_is_refused_at_construction(
    mock: responses.RequestsMock, base_url: str, problem: str
) -> None:
    with pytest.raises(ProviderError, match=problem) as caught:
        build(mock, base_url=base_url)

    assert_secret_free(caught.value)


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8080/api/v1", "http://localhost:9000", "http://[::1]:80/"]
)
def test_plain_http_is_allowed_to_this_machine(mock: responses.RequestsMock, base_url: str) -> None:
    harness = build(mock, base_url=base_url)
    mock.get(base_url.rstrip("/") + "/accounts", json={"accounts": []})

    assert harness.transport.request("GET", "/accounts") == {"accounts": []}


# -- the rate limiter -------------------------------------------------------------------------


def test_the_rate_limiter_is_taken_for_every_attempt(harness: Harness) -> None:
    harness.mock.get(f"{BASE}/accounts", status=429)
    harness.mock.get(f"{BASE}/accounts", body=lost_reply())
    harness.mock.get(f"{BASE}/accounts", body="{")
    harness.mock.get(f"{BASE}/accounts", json={})

    harness.transport.request("GET", "/accounts")

    assert harness.calls == 4
    assert harness.limiter.acquired == 4
    assert harness.transport.stats == TransportStats(requests_sent=4, rate_limited=1, retries=3)


# -- the factory ----------------------------------------------------------------------------


def context(tmp_path: Path, environ: dict[str, str], **settings: Any) -> ProviderContext:
    return ProviderContext(
        settings=ProviderSettings(kind="ctm", **settings),
        config_path=tmp_path / "hipaa.toml",
        work_dir=tmp_path,
        environ=environ,
    )


def test_create_provider_talks_to_base_url_with_the_environment_credentials(
    mock: responses.RequestsMock, tmp_path: Path
) -> None:
    environ = {"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": SECRET}
    mock.get(f"{BASE}/accounts", json={"accounts": [], "next_page": None})

    provider = create_provider(context(tmp_path, environ, base_url=BASE, rate_limit=1000.0))
    try:
        provider.list_accounts()
    finally:
        provider.close()

    assert mock.calls[0].request.headers["Authorization"] == f"Basic {TOKEN}"


def test_create_provider_reports_a_bad_base_url_as_a_config_error(tmp_path: Path) -> None:
    environ = {"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": SECRET}

    with pytest.raises(ConfigError) as caught:
        create_provider(context(tmp_path, environ, base_url=f"https://u:{SECRET}@ctm.test"))

    assert caught.value.issues[0].key == "provider.base_url"
    assert SECRET not in str(caught.value)


def test_create_provider_without_credentials_names_the_variables(tmp_path: Path) -> None:
    with pytest.raises(AuthenticationError, match="CTM_ACCESS_KEY"):
        create_provider(context(tmp_path, {}))


# -- real sockets: the "was it sent?" classification against what urllib3 really raises ----


class HangUpHandler(socketserver.StreamRequestHandler):
    """Reads one request, then closes the connection without answering."""

    def handle(self) -> None:
        received = self.server.received  # type: ignore[attr-defined]
        received.append(self.rfile.readline())
        while self.rfile.readline() not in (b"\r\n", b""):
            pass


@pytest.fixture
def hang_up_server() -> Iterator[tuple[str, list[bytes]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), HangUpHandler)
    server.daemon_threads = True
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def real_transport(base_url: str) -> HttpTransport:
    return HttpTransport(
        base_url, Credentials(ACCESS, SECRET), sleep=lambda _: None, max_attempts=3
    )


def test_a_post_to_a_server_that_hangs_up_is_uncertain_and_sent_once(
    hang_up_server: tuple[str, list[bytes]],
) -> None:
    base_url, received = hang_up_server
    transport = real_transport(base_url)
    try:
        with pytest.raises(UncertainWriteError) as caught:
            transport.request("POST", "/accounts/1/users", body={"user": {}})
    finally:
        transport.close()

    assert received == [b"POST /api/v1/accounts/1/users HTTP/1.1\r\n"]
    assert_secret_free(caught.value)


def test_a_post_to_a_closed_port_was_never_sent_so_it_is_retried() -> None:
    transport = real_transport(f"http://127.0.0.1:{unused_port()}/api/v1")
    try:
        with pytest.raises(ProviderError, match="could not connect") as caught:
            transport.request("POST", "/accounts/1/users", body={"user": {}})
    finally:
        transport.close()

    assert type(caught.value) is ProviderError  # refused: certainly nothing created
    assert "gave up after 3 attempts" in str(caught.value)
    assert transport.stats.requests_sent == 3
    assert_secret_free(caught.value)


def test_workers_share_one_transport(mock: responses.RequestsMock) -> None:
    harness = build(mock)
    mock.get(f"{BASE}/accounts", json={"accounts": []})

    def worker() -> None:
        for _ in range(25):
            harness.transport.request("GET", "/accounts")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert harness.transport.stats == TransportStats(requests_sent=200)
    assert harness.calls == 200


# -- issue 14: scrubbed whole, before the reason is cut; no proxy for loopback ---------------


def fragments_in(text: str, *keys: str) -> list[str]:
    return sorted({key[i : i + 8] for key in keys for i in range(len(key) - 7)} & _windows(text))


def _windows(text: str) -> set[str]:
    return {text[i : i + 8] for i in range(len(text) - 7)}


ECHO_ACCESS = "AK-é f(*)+?[x9-4242"
ECHO_SECRET = 'sk "q\\é$^|{}\t7w-9f8e'


@pytest.mark.parametrize("lead", [185, 190, 195, 199])
@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: text.encode("latin-1"),  # a server echoing the raw Basic-auth bytes
        lambda text: json.dumps({"reason": text}).encode(),  # \uXXXX escapes
        lambda text: json.dumps({"errors": {"base": [text]}}).encode(),  # JSON in JSON
    ],
    ids=["utf-8", "latin-1", "json", "json-in-json"],
)
def test_a_key_across_the_200_character_cut_leaves_no_fragment(
    mock: responses.RequestsMock, lead: int, encode: Callable[[str], bytes]
) -> None:
    transport = HttpTransport(BASE, Credentials(ECHO_ACCESS, ECHO_SECRET), sleep=lambda _: None)
    text = "x" * lead + f"{ECHO_SECRET}  \n {ECHO_ACCESS}" + " padding" * 40
    mock.get(f"{BASE}/accounts", status=422, body=encode(text))

    with pytest.raises(ProviderError) as caught:
        transport.request("GET", "/accounts")

    assert len(caught.value.reason) <= 200
    assert fragments_in(str(caught.value), ECHO_ACCESS, ECHO_SECRET) == []


def test_a_redirect_to_a_host_named_after_a_key_does_not_show_it(
    mock: responses.RequestsMock,
) -> None:
    transport = HttpTransport(BASE, Credentials("AccessKeyAB12cd", SECRET), sleep=lambda _: None)
    location = "https://accesskeyab12cd.evil.test/x"  # host names are lowercased
    mock.get(f"{BASE}/accounts", status=302, headers={"Location": location})

    with pytest.raises(ProviderError) as caught:
        transport.request("GET", "/accounts")

    assert "redirect to ***.evil.test" in str(caught.value)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_plain_http_to_loopback_never_goes_through_a_proxy(
    hang_up_server: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    from hipaactl.providers.sandbox.server import ServeOptions, serving

    proxy_url, proxied = hang_up_server
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, proxy_url.removesuffix("/api/v1"))
    keys = {"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": SECRET}
    with serving(ServeOptions(accounts=1), environ=keys) as sandbox:
        # The proxy is live: a plain requests call from this environment goes through it.
        with pytest.raises(requests.RequestException):
            requests.get(f"{sandbox.url}/accounts", timeout=2)
        assert len(proxied) == 1
        transport = real_transport(sandbox.url)
        try:
            accounts = transport.request("GET", "/accounts")
        finally:
            transport.close()

    assert accounts["accounts"]
    assert len(proxied) == 1  # hipaactl's request went straight to the sandbox


def test_https_takes_the_proxy_and_ca_bundle_from_the_environment(
    mock: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/private-ca.pem")
    mock.get(f"{BASE}/accounts", json={"accounts": []})
    build(mock).transport.request("GET", "/accounts")

    sent = mock.calls[0].request.req_kwargs  # what the adapter was asked to send with
    assert sent["proxies"]["https"] == "http://proxy.test:3128"
    assert sent["verify"] == "/etc/private-ca.pem"
    assert sent["stream"] is True


def test_a_ca_bundle_that_does_not_exist_is_a_provider_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/private-ca.pem")
    transport = HttpTransport("https://127.0.0.1:9/api/v1", Credentials(ACCESS, SECRET))

    with pytest.raises(ProviderError) as caught:
        transport.request("GET", "/accounts")

    message = str(caught.value)
    assert "/nonexistent/private-ca.pem" in message and "REQUESTS_CA_BUNDLE" in message
    assert "GET /accounts" in message
    assert_secret_free(caught.value)
