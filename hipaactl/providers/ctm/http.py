"""The CTM transport over HTTP: auth, timeouts, the shared rate limit, retries, paging.

Requests go straight to one ``requests`` adapter shared by every worker thread: its
urllib3 connection pool is thread-safe and sized to ``pool_size`` (the run's
parallelism). There is no ``Session``: its per-request merging of settings, cookies and
hooks cost more CPU than the rest of a request (about 5 % of the benchmark's floor at
parallelism 8), and nothing in it applies here. CTM authenticates each request with HTTP
Basic auth, so there is no cookie jar; the headers are built once; the environment's
proxy and CA-bundle settings (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``) are
read once, as ``requests`` would read them for ``base_url``.

Credentials never leave through this module: ``base_url`` may not carry userinfo,
redirects are not followed, ``next_page`` is followed only to ``base_url``'s scheme, host
and port, errors name the method and path only (no host credentials, no query), text
quoted from the server goes through the one scrubber (``hipaactl.model.scrub``) whole,
before it is folded or cut, and no ``requests`` exception (which holds the prepared
request and its ``Authorization`` header) is chained to the errors raised here.
Credentials go only to ``base_url``: over https, or over plain http to a loopback
address, and then never through a proxy (``HTTP_PROXY``, ``HTTPS_PROXY`` and
``ALL_PROXY`` are ignored for loopback, SPEC section 9).

Every attempt is bounded (``providers.limits``): a total deadline for connect, headers
and body together (``deadline``, default 60 s, on top of the socket timeouts), and a
body cap of 50 MB counted after decompression while the body streams in. A reply that
nests deeper than ``canonical.MAX_NESTING`` or holds a number of thousands of digits is
an unreadable reply, named by endpoint.
"""

from __future__ import annotations

import ipaddress
import json
import random as random_module
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from hipaactl import __version__
from hipaactl.canonical import DocumentError, parse_json
from hipaactl.errors import AuthenticationError, ProviderError
from hipaactl.model.scrub import scrub
from hipaactl.providers.ctm.credentials import ACCESS_KEY_VAR, SECRET_KEY_VAR, Credentials
from hipaactl.providers.ctm.ratelimit import RateLimiter
from hipaactl.providers.ctm.retry import (
    RETRYABLE_STATUSES,
    Backoff,
    Verdict,
    judge_failure,
    judge_status,
    parse_retry_after,
)
from hipaactl.providers.ctm.transport import (
    Method,
    ProbeReply,
    UncertainWriteError,
    rate_limit_header_names,
    top_keys,
)
from hipaactl.providers.limits import (
    MAX_BODY_BYTES,
    BodyTooLargeError,
    BodyUnreadableError,
    DeadlineExceededError,
    WatchedAdapter,
    cut_every_request,
    read_body,
    timeouts_within,
    watched,
)

DEFAULT_BASE_URL = "https://api.calltrackingmetrics.com/api/v1"
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)  # (connect, read) seconds
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_POOL_SIZE = 8
DEFAULT_DEADLINE_SECONDS = 60.0  # SPEC section 4: connect, read and body together

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ABSOLUTE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_REASON_MAX_CHARS = 200


@dataclass(frozen=True)
class TransportStats:
    """Counters for the benchmark: attempts sent, 429 replies seen, retries made."""

    requests_sent: int = 0
    rate_limited: int = 0
    retries: int = 0


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class _Target:
    url: str
    endpoint: str  # "GET /accounts/1/users": what errors show; never host or query


@dataclass(frozen=True)
class _Attempt:
    """What one attempt produced. It holds no exception, so errors raised from it chain
    nothing that could carry the request's headers; ``reason`` is already scrubbed."""

    status: int | None  # None: no reply came back
    reason: str = ""
    payload: Any = None
    readable: bool = False  # a 2xx body the method accepts
    retry_after: float | None = None
    retryable: bool = False  # when no reply came back
    sent: bool = True  # False only when the request provably never left this machine
    too_large: bool = False  # the body passed the cap: asking again gives the same
    body_keys: tuple[str, ...] = ()  # for doctor: top-level key names of a JSON body
    header_names: tuple[str, ...] = ()  # for doctor: rate-limit header names, no values


class _Unlimited:
    def acquire(self) -> None:
        return None


def base_url_problem(base_url: str) -> str | None:
    """Why ``base_url`` is unusable, or None. The message never quotes the URL, which
    might hold credentials."""
    try:
        parts = urlsplit(base_url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return f"base_url is not a valid URL; the default is {DEFAULT_BASE_URL}"
    if "@" in parts.netloc:
        return (
            "base_url must not hold credentials; set "
            f"{ACCESS_KEY_VAR} and {SECRET_KEY_VAR} in the environment instead"
        )
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return f"base_url must be an https:// URL such as {DEFAULT_BASE_URL}"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            f"base_url uses plain http to {parts.hostname}, which would send the credentials "
            "unencrypted; use https (plain http is allowed only to this machine, as for "
            "`hipaactl sandbox serve`)"
        )
    if parts.query or parts.fragment:
        return "base_url must not have a query or a fragment"
    return None


class HttpTransport:
    """The ``Transport`` of the ``ctm`` provider; safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        limiter: RateLimiter | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] | None = None,
        random: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        problem = base_url_problem(base_url)
        if problem is not None:
            raise ProviderError(problem, hint="fix provider.base_url in the config file")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self._base_url = base_url.rstrip("/")
        base = urlsplit(self._base_url)
        self._origin = _origin_of(base)
        self._base_origin_url = f"{base.scheme}://{base.netloc}"
        self._base_path = base.path
        credentials.register_with_scrubber()
        self._adapter = WatchedAdapter(pool_connections=1, pool_maxsize=max(1, pool_size))
        self._headers = _request_headers(credentials)
        self._environment = _environment_settings(self._base_url, self._origin)
        self._limiter: RateLimiter = limiter if limiter is not None else _Unlimited()
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff = backoff if backoff is not None else Backoff()
        self._cancelled = threading.Event()
        # Back-off waits end early when the run is cancelled.
        self._sleep = sleep if sleep is not None else self._wait
        self._random = random if random is not None else random_module.Random().random
        self._wall_clock = wall_clock
        self._deadline = deadline
        self._max_body_bytes = max_body_bytes
        self._clock = clock
        self._stats_lock = threading.Lock()
        self._stats = TransportStats()

    def __repr__(self) -> str:
        return f"HttpTransport(base_url={self._base_url!r})"

    @property
    def stats(self) -> TransportStats:
        """Attempts sent, 429 replies seen and retries made so far."""
        return self._stats

    def close(self) -> None:
        """Close the pooled connections."""
        self._adapter.close()

    def cancel(self) -> None:
        """Stop for an interrupted run: no attempt starts or retries from now on, back-off
        waits end, and requests waiting for a reply are cut (each then fails, a write as
        of unknown outcome), so worker threads finish at once instead of after their
        timeouts and retries."""
        self._cancelled.set()
        cut_every_request()

    def _wait(self, seconds: float) -> None:
        self._cancelled.wait(seconds)

    def request(
        self,
        method: Method,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request, retrying per ``retry``'s table, and return the decoded JSON
        (None for an empty reply to a DELETE or a 204)."""
        target = self._target(method, path)

        def again(attempt: _Attempt, attempts: int) -> bool:
            return self._judge(method, attempt, retried=attempts > 1) == "retry"

        attempt, attempts = self._send_until(method, target.url, params, body, again)
        verdict = self._judge(method, attempt, retried=attempts > 1)
        if verdict == "done":
            return attempt.payload
        if verdict == "retry":
            raise _gave_up(method, target, attempt, attempts)
        raise self._error(verdict, target, attempt)

    def probe(self, path: str, *, params: Mapping[str, str | int] | None = None) -> ProbeReply:
        """One GET for ``hipaactl doctor``, returned whatever its status; 429, 502-504 and
        lost connections are retried as for any GET. Raises ProviderError only when no
        reply came back (the reason names the host, never the credentials)."""
        target = self._target("GET", path)

        def again(attempt: _Attempt, _attempts: int) -> bool:
            if attempt.status is None:
                return attempt.retryable
            return attempt.status in RETRYABLE_STATUSES

        attempt, _ = self._send_until("GET", target.url, params, None, again, with_names=True)
        if attempt.status is None:
            raise ProviderError(attempt.reason, endpoint=target.endpoint)
        ok = 200 <= attempt.status < 300 and attempt.readable
        return ProbeReply(
            attempt.status,
            payload=attempt.payload if ok else None,
            json=ok,
            body_keys=attempt.body_keys,
            header_names=attempt.header_names,
        )

    def _send_until(
        self,
        method: Method,
        url: str,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
        again: Callable[[_Attempt, int], bool],
        *,
        with_names: bool = False,
    ) -> tuple[_Attempt, int]:
        """Send until ``again(attempt, attempts so far)`` is false or the attempts run
        out, backing off in between; return the last attempt and how many were made."""
        attempts = 0
        while True:
            attempts += 1
            attempt = self._send(method, url, params, body, with_names=with_names)
            stop = attempts >= self._max_attempts or self._cancelled.is_set()
            if stop or not again(attempt, attempts):
                return attempt, attempts
            self._sleep(self._backoff.delay(attempts, attempt.retry_after, self._random))
            self._count(retries=1)

    # -- one attempt ----------------------------------------------------------------

    def _send(
        self,
        method: Method,
        url: str,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
        *,
        with_names: bool = False,
    ) -> _Attempt:
        """One request. ``with_names`` (doctor's probe only) also records the body's key
        names and the rate-limit header names, which costs a second parse of the body."""
        if self._cancelled.is_set():
            return _Attempt(None, "not sent: the run was interrupted", sent=False)
        self._count(requests_sent=1)
        try:
            prepared = requests.Request(
                method,
                url,
                headers=self._headers,
                params=dict(params) if params is not None else None,
                json=dict(body) if body is not None else None,
            ).prepare()
        except requests.RequestException as error:
            return self._failure(error)
        # Every attempt (retries and pages included) waits here, as late as possible:
        # the limiter logs the time the request leaves.
        self._limiter.acquire()
        with watched(self._deadline, self._clock, self._cancelled) as expired:
            try:
                # An adapter never follows a redirect: credentials never go where a
                # response points.
                response = self._adapter.send(
                    prepared,
                    timeout=timeouts_within(self._timeout, self._deadline),
                    stream=True,  # the body is read under the deadline and the cap
                    **self._environment,
                )
            except requests.RequestException as error:
                if expired():
                    return self._late()
                return self._failure(error)
            except OSError as error:  # raised before sending, e.g. a missing CA bundle
                return _Attempt(None, _unsendable_reason(error), sent=False)
            try:
                content = read_body(response, expired=expired, limit=self._max_body_bytes)
            except DeadlineExceededError:
                return self._late()
            except BodyTooLargeError:
                reason = f"the reply is larger than {self._max_body_bytes:,} bytes"
                return _Attempt(response.status_code, reason, too_large=True)
            except BodyUnreadableError:
                return _Attempt(None, "the reply was cut off or unreadable", retryable=True)
            finally:
                response.close()
        attempt = self._reply(method, response, content)
        return _with_names(attempt, response, content) if with_names else attempt

    def _late(self) -> _Attempt:
        reason = f"no complete reply from {self._origin.host} within {self._deadline:g} s"
        return _Attempt(None, reason, retryable=True, sent=True)

    def _reply(self, method: Method, response: requests.Response, content: bytes) -> _Attempt:
        status = response.status_code
        if status == 429:
            self._count(rate_limited=1)
        if 200 <= status < 300:
            payload, reason = _decode_reply(method, status, content)
            readable = reason is None or (method == "DELETE" and payload is None)
            return _Attempt(status, reason or "", payload=payload, readable=readable)
        if 300 <= status < 400:
            return _Attempt(status, self._redirect_reason(response))
        retry_after = None
        if status in RETRYABLE_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._wall_clock())
        return _Attempt(status, self._server_reason(response, content), retry_after=retry_after)

    def _failure(self, error: requests.RequestException) -> _Attempt:
        """Describe a failure with no reply in words of our own: ``requests`` messages
        quote URLs and its exceptions hold the request with its headers."""
        host = self._origin.host
        connect_timeout, read_timeout = self._timeout
        if isinstance(error, requests.exceptions.SSLError):  # before ConnectionError: it is one
            reason = (
                f"TLS error talking to {host}: check the server's certificate "
                "(or REQUESTS_CA_BUNDLE for a private certificate authority)"
            )
            return _Attempt(None, reason, retryable=False, sent=False)
        if isinstance(error, requests.exceptions.ConnectTimeout):
            reason = f"could not connect to {host} within {connect_timeout:g} s"
            return _Attempt(None, reason, retryable=True, sent=False)
        if isinstance(error, requests.exceptions.ReadTimeout):
            reason = f"no reply from {host} within {read_timeout:g} s"
            return _Attempt(None, reason, retryable=True, sent=True)
        if isinstance(error, requests.exceptions.ProxyError):
            reason = f"could not reach {host} through the proxy (HTTPS_PROXY)"
            return _Attempt(None, reason, retryable=True, sent=True)
        if isinstance(error, requests.exceptions.ConnectionError):
            if _never_sent(error):
                return _Attempt(None, f"could not connect to {host}", retryable=True, sent=False)
            reason = f"the connection to {host} was lost before the reply was complete"
            return _Attempt(None, reason, retryable=True, sent=True)
        if isinstance(
            error,
            (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError),
        ):
            return _Attempt(None, "the reply was cut off or unreadable", retryable=True)
        reason = f"the request could not be sent ({type(error).__name__})"
        return _Attempt(None, reason, retryable=False, sent=False)

    def _judge(self, method: Method, attempt: _Attempt, *, retried: bool) -> Verdict:
        if attempt.too_large:
            # The work may be done (a write's reply is what was too large): never "failed".
            ok = attempt.status is not None and 200 <= attempt.status < 300
            return "uncertain" if ok and method != "GET" else "fail"
        if attempt.status is None:
            return judge_failure(method, retryable=attempt.retryable, sent=attempt.sent)
        return judge_status(method, attempt.status, readable=attempt.readable, retried=retried)

    def _error(self, verdict: Verdict, target: _Target, attempt: _Attempt) -> ProviderError:
        if verdict == "auth":
            return AuthenticationError(
                f"CTM refused the credentials: check {ACCESS_KEY_VAR} / {SECRET_KEY_VAR} "
                f"(server said: {attempt.reason})",
                status=attempt.status,
                endpoint=target.endpoint,
                hint=(
                    "a 403 can also mean the key lacks access to this agency or account"
                    if attempt.status == 403
                    else None
                ),
            )
        if verdict == "uncertain":
            return UncertainWriteError(
                f"the outcome of this request is unknown: {attempt.reason}",
                status=attempt.status,
                endpoint=target.endpoint,
                hint="re-read the object before creating it again",
            )
        return ProviderError(attempt.reason, status=attempt.status, endpoint=target.endpoint)

    # -- text and targets ---------------------------------------------------------

    def _server_reason(self, response: requests.Response, content: bytes) -> str:
        """The server's reason from ``{"status":"error","reason":...}`` or
        ``{"error":...}``, else a short text. Scrubbed whole first: folding whitespace
        or cutting the text could break up a key the scrubber would otherwise find."""
        text = _reason_from_json(content)
        if text is None:
            raw = _body_text(content).strip()
            # An HTML error page says nothing its status line does not.
            text = "" if raw.startswith("<") else raw
        text = scrub(text)
        text = " ".join(text.split())
        if not text:
            text = scrub(response.reason or "") or "no reason given"
        if len(text) > _REASON_MAX_CHARS:
            text = text[: _REASON_MAX_CHARS - 1] + "…"
        return text

    def _redirect_reason(self, response: requests.Response) -> str:
        location = urlsplit(scrub(response.headers.get("Location", "")))
        host = scrub(location.hostname or "")  # lowercased: scrubbed again
        where = f" to {host}" if host else ""
        return (
            f"the API answered with a redirect{where}, which hipaactl does not follow "
            "(credentials never go where a response points); set provider.base_url "
            "to the address the API is served at"
        )

    def _target(self, method: Method, path: str) -> _Target:
        """The URL for an API path or a ``next_page`` URL, refusing other origins."""
        if not _ABSOLUTE_URL.match(path):
            relative = path if path.startswith("/") else f"/{path}"
            return _Target(self._base_url + relative, self._endpoint(method, relative))
        route, query, origin = _split_absolute(path)
        if origin != self._origin:
            shown = f" ({origin})" if origin is not None else ""
            raise ProviderError(
                f"refusing to follow next_page to another host{shown}: credentials are "
                f"only sent to {self._origin}",
                endpoint=f"{method} (next_page)",
                hint="the API returned a next_page URL outside provider.base_url",
            )
        # Rebuilt on base_url's own scheme and host, so the request goes exactly there.
        url = f"{self._base_origin_url}{route}{'?' + query if query else ''}"
        return _Target(url, self._endpoint(method, route))

    def _endpoint(self, method: Method, path: str) -> str:
        route = urlsplit(path).path
        if self._base_path and route.startswith(self._base_path + "/"):
            route = route[len(self._base_path) :]
        return f"{method} {route or '/'}"

    def _count(self, *, requests_sent: int = 0, rate_limited: int = 0, retries: int = 0) -> None:
        with self._stats_lock:
            current = self._stats
            self._stats = TransportStats(
                current.requests_sent + requests_sent,
                current.rate_limited + rate_limited,
                current.retries + retries,
            )


def _with_names(attempt: _Attempt, response: requests.Response, content: bytes) -> _Attempt:
    """``attempt`` with the names doctor reports: top-level body keys and rate-limit
    header names (never a value)."""
    try:
        keys = top_keys(parse_json(content)) if content.strip() else ()
    except DocumentError:
        keys = ()
    return replace(attempt, body_keys=keys, header_names=rate_limit_header_names(response.headers))


def _unsendable_reason(error: OSError) -> str:
    """Why a request could not be sent, for an ``OSError`` that ``requests`` raises
    before sending: a ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` that names no usable
    file is the one known case. Scrubbed: the text is the library's."""
    reason = scrub(str(error)) or type(error).__name__
    return f"the request could not be sent: {reason} (check REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE)"


def _gave_up(method: Method, target: _Target, attempt: _Attempt, attempts: int) -> ProviderError:
    if method != "GET" and attempt.status != 429 and attempt.sent:
        # The last attempt reached the server and no reply confirmed it: the write may
        # have been made (a 503 can come after the work), so it must not read "failed".
        return UncertainWriteError(
            f"the outcome of this write is unknown: {attempt.reason} "
            f"(gave up after {attempts} attempts)",
            status=attempt.status,
            endpoint=target.endpoint,
            hint="run plan to see whether the change took effect",
        )
    hint = (
        "CTM kept answering 429: lower provider.rate_limit or --parallelism"
        if attempt.status == 429
        else "the CTM API is unavailable or unreachable; try again later"
    )
    return ProviderError(
        f"{attempt.reason} (gave up after {attempts} attempts)",
        status=attempt.status,
        endpoint=target.endpoint,
        hint=hint,
    )


def _decode_reply(method: Method, status: int, content: bytes) -> tuple[Any, str | None]:
    """The payload of a 2xx reply and, when it cannot be used, why. An empty body is fine
    for a DELETE or a 204; a DELETE's status alone confirms it."""
    if not content.strip():
        if method == "DELETE" or status == 204:
            return None, None
        return None, "the reply was empty"
    try:
        return parse_json(content), None
    except DocumentError as exc:  # bad JSON, deep nesting, a number of 5,000 digits
        return None, f"the reply was not usable JSON: {exc}"


def _body_text(content: bytes) -> str:
    """A reply body as text: UTF-8, else Latin-1 (every byte is a character), so a key
    echoed as Latin-1 bytes stays whole for the scrubber instead of breaking into
    replacement characters and pieces."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def _reason_from_json(content: bytes) -> str | None:
    try:
        data = parse_json(content)
    except DocumentError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("reason", "error", "errors", "message"):
        value = data.get(key)
        if value:
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return None


def _never_sent(error: requests.exceptions.ConnectionError) -> bool:
    """True when the connection could not be opened (refused, unreachable, DNS), so no
    byte of the request was sent. Anything else (reset, closed while reading, a reused
    connection dropped mid-send) may have reached the server."""
    cause = error.args[0] if error.args else None
    if isinstance(cause, MaxRetryError):
        cause = cause.reason
    return isinstance(cause, NewConnectionError)


def _split_absolute(url: str) -> tuple[str, str, _Origin | None]:
    """The path, query and origin of an absolute URL; no origin when it is malformed or
    holds userinfo (which is never shown)."""
    try:
        parts = urlsplit(url)
        origin = _origin_of(parts)
    except ValueError:
        return "", "", None
    return parts.path, parts.query, None if "@" in parts.netloc else origin


def _origin_of(parts: SplitResult) -> _Origin:
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return _Origin(scheme, (parts.hostname or "").lower(), port)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _request_headers(credentials: Credentials) -> dict[str, str]:
    """Every request's headers: ``requests``' defaults, JSON, our User-Agent, and the
    Basic ``Authorization`` header (built as ``requests.auth.HTTPBasicAuth`` builds it)."""
    headers = dict(requests.utils.default_headers())
    headers.update({"Accept": "application/json", "User-Agent": f"hipaactl/{__version__}"})
    headers["Authorization"] = f"Basic {credentials.basic_token()}"
    return headers


def _environment_settings(base_url: str, origin: _Origin) -> dict[str, Any]:
    """``proxies``, ``verify`` and ``cert`` for every request to ``base_url``, from the
    environment as ``requests.Session`` reads it. Plain http (allowed to loopback only)
    takes nothing from it: a proxy would see the credentials in the clear."""
    if origin.scheme == "http":
        return {"proxies": {}, "verify": True, "cert": None}
    with requests.Session() as session:
        settings = session.merge_environment_settings(base_url, {}, True, None, None)
    return {name: settings[name] for name in ("proxies", "verify", "cert")}
