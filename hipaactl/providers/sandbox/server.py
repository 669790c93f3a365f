"""``hipaactl sandbox serve``: the sandbox backend over HTTP, shaped like CTM's API.

A thin wrapper: ``SandboxBackend.handle`` (the same backend the embedded sandbox uses)
answers every request under ``/api/v1``; this module adds what only a network server
has, so the ``ctm`` provider can be tested end to end and benchmarked:

- HTTP Basic auth, always (SPEC section 4): exactly ``CTM_ACCESS_KEY`` /
  ``CTM_SECRET_KEY`` from the server's environment, else a pair generated at start and
  written to a 0600 file in a private temporary folder (removed when the server stops),
  whose path ``sandbox serve`` prints; otherwise 401.
- 400 for a malformed account id, object id, ``page`` or ``per_page`` (not ASCII digits,
  or absurdly long), before the backend sees the request.
- A bounded pool of ``max_workers`` handler threads: a connection that arrives when all
  are busy is answered 503 with ``Retry-After`` and closed, so no flood of connections
  can grow the thread count.
- ``latency_ms``: the response time of every API request: each reply leaves no sooner
  than ``latency_ms`` after its request was read, the simulator's own work included.
  (Sleeping on top of that work would make every request slower than the latency the
  benchmark's floor assumes, and by how much would depend on this machine's load.)
- ``rate_limit``: at most R requests in any sliding one-second window, shared by all
  clients; above it 429 with ``Retry-After`` in whole seconds.
- ``fail_rate``: with probability P (seeded by ``seed``) a request fails with 502, 503
  or 504, half of the time *before* the backend does the work and half *after* it (the
  write happened, the reply is an error), which is what makes a client's re-read before
  re-creating matter.
- ``GET /__stats``, outside the API: counters of requests, 429s and injected faults for
  the benchmark. They count requests, never records.

The server holds configuration only, like the backend: there are no call or text records.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import math
import os
import random
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from hipaactl.canonical import DocumentError, parse_json
from hipaactl.errors import HipaactlError, UsageError
from hipaactl.providers.ctm.credentials import ACCESS_KEY_VAR, SECRET_KEY_VAR
from hipaactl.providers.ctm.http import is_loopback
from hipaactl.providers.sandbox.backend import (
    Document,
    DocumentStore,
    JsonFileStore,
    SandboxBackend,
    SandboxDocumentError,
    check_document,
)
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.workcopy import default_seed_path

API_PREFIX = "/api/v1"
STATS_PATH = "/__stats"
FAULT_STATUSES = (502, 503, 504)
RATE_WINDOW_SECONDS = 1.0
MAX_BODY_BYTES = 1_000_000
# An idle keep-alive connection is closed after this long, so handler threads end.
IDLE_CONNECTION_SECONDS = 60.0
# How often serve_forever looks for a shutdown request: stopping takes at most this long.
POLL_SECONDS = 0.05
# Handler threads at most: each serves one keep-alive connection. The benchmarks use 8.
MAX_WORKERS = 64
CREDENTIALS_FILE_NAME = "credentials.env"
# Account ids are integers; other ids CTM-like tokens (checked after percent-decoding).
_ACCOUNT_ID = re.compile(r"[0-9]{1,18}")
_OBJECT_ID = re.compile(r"[A-Za-z0-9_.:~-]{1,128}")
_PAGE_NUMBER = re.compile(r"[0-9]{1,9}")

Sleep = Callable[[float], None]
Clock = Callable[[], float]
FaultTiming = Literal["before", "after"]


class SandboxServerError(HipaactlError):
    """The simulator cannot start: bad state file, or the address cannot be bound."""


@dataclass(frozen=True)
class ServeOptions:
    """The options of ``hipaactl sandbox serve`` (SPEC section 1)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    state: Path | None = None  # a sandbox document; writes persist to it
    accounts: int | None = None  # a generated agency of N accounts instead
    latency_ms: float = 0.0
    rate_limit: float | None = None  # requests per second; None: unlimited
    fail_rate: float = 0.0
    page_cap: int | None = None
    seed: int = 0
    ignore_field: str | None = None  # writes of it are accepted and not made
    error_body_writes: bool = False  # every write answered 200 with an error body


def option_problems(options: ServeOptions) -> list[str]:
    """Every problem with ``options``, in words a user can act on; empty when fine."""
    problems = []
    if options.state is not None and options.accounts is not None:
        problems.append("--state and --accounts exclude each other: serve a file or generate")
    if not 0 <= options.port <= 65535:
        problems.append(f"--port must be 0..65535 (0 picks a free port), got {options.port}")
    if options.accounts is not None and options.accounts < 0:
        problems.append(f"--accounts must be 0 or more, got {options.accounts}")
    if not (math.isfinite(options.latency_ms) and options.latency_ms >= 0):
        problems.append(
            f"--latency-ms must be a finite number, 0 or more, got {options.latency_ms:g}"
        )
    if options.rate_limit is not None and not options.rate_limit >= 1:
        problems.append(
            f"--rate-limit must be at least 1 request per second, got {options.rate_limit:g}"
        )
    if not 0 <= options.fail_rate <= 1:
        problems.append(f"--fail-rate must be a probability from 0 to 1, got {options.fail_rate:g}")
    if options.page_cap is not None and options.page_cap < 1:
        problems.append(f"--page-cap must be at least 1, got {options.page_cap}")
    return problems


# ---- the document served ---------------------------------------------------------------


def load_document(options: ServeOptions) -> tuple[Document, DocumentStore | None]:
    """The document to serve and where writes persist: the ``--state`` file, a generated
    agency (in memory), or the packaged default seed (in memory)."""
    if options.accounts is not None:
        return generate_agency(options.accounts, seed=options.seed), None
    if options.state is not None:
        return read_document(options.state), JsonFileStore(options.state)
    return read_document(default_seed_path()), None


def read_document(path: Path) -> Document:
    """The sandbox document at ``path``; raises SandboxServerError when it is unreadable or
    not of the sandbox shape.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SandboxServerError(
            f"cannot read the sandbox state {path}: {err.strerror or err}",
            hint="pass --state with an existing JSON file (for example a copy of a "
            "sandbox/agency.json written by `hipaactl init DIR --example clinic`), or --accounts N",
        ) from None
    try:
        document = parse_json(raw)
        check_document(document)
    except (DocumentError, SandboxDocumentError) as err:
        raise SandboxServerError(f"{path}: not a sandbox document: {err}") from None
    result: Document = document
    return result


# ---- rate limit, faults, credentials ----------------------------------------------------


class SlidingWindow:
    """At most ``limit`` requests in any window of ``window`` seconds; thread-safe.
    Refused requests do not count, as with CTM's limiter."""

    def __init__(
        self, limit: float, *, window: float = RATE_WINDOW_SECONDS, clock: Clock = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: deque[float] = deque()

    def admit(self) -> float | None:
        """None when the request may go on; else the seconds until the window has room."""
        with self._lock:
            now = self._clock()
            while self._admitted and self._admitted[0] <= now - self.window:
                self._admitted.popleft()
            if len(self._admitted) + 1 <= self.limit:
                self._admitted.append(now)
                return None
            return self._admitted[0] + self.window - now


@dataclass(frozen=True)
class Fault:
    status: int
    timing: FaultTiming


class FaultInjector:
    """Draws, from a seeded generator, which requests fail and how."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> Fault | None:
        """A random fault (HTTP 502, 503 or 504, before or after the work) with probability
        ``rate``, else None.
        """
        if self.rate <= 0:
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            timing: FaultTiming = "before" if self._random.random() < 0.5 else "after"
            return Fault(self._random.choice(FAULT_STATUSES), timing)


@dataclass(frozen=True)
class ExpectedCredentials:
    """The keys every request must carry, exactly."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ExpectedCredentials | None:
        """The pair from ``CTM_ACCESS_KEY`` / ``CTM_SECRET_KEY``; None when neither is
        set. Raises ``UsageError`` when only one is."""
        access, secret = environ.get(ACCESS_KEY_VAR) or "", environ.get(SECRET_KEY_VAR) or ""
        if not access and not secret:
            return None
        if not access or not secret:
            missing = ACCESS_KEY_VAR if not access else SECRET_KEY_VAR
            raise UsageError(
                f"{missing} is not set: set both {ACCESS_KEY_VAR} and {SECRET_KEY_VAR} "
                "for sandbox serve to use, or neither to have it generate a pair"
            )
        return cls(access, secret)

    @classmethod
    def generate(cls) -> ExpectedCredentials:
        """A fresh random pair for one run of ``sandbox serve``."""
        return cls(f"sandbox-{secrets.token_hex(6)}", secrets.token_urlsafe(24))

    def accept(self, authorization: str | None) -> bool:
        """Whether the Basic ``authorization`` header carries exactly the expected keys
        (compared in constant time)."""
        pair = _basic_pair(authorization)
        if pair is None:
            return False
        return all(
            hmac.compare_digest(given.encode(), expected.encode())
            for given, expected in zip(pair, (self.access_key, self.secret_key), strict=True)
        )


def write_credentials_file(credentials: ExpectedCredentials, directory: Path) -> Path:
    """Write a generated pair as shell assignments to a new 0600 file in ``directory``
    (created 0700 if needed); the file is created exclusively and never through a
    symlink. Returns its path."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / CREDENTIALS_FILE_NAME
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(
            "# hipaactl sandbox serve: the credentials it accepts, for this run only.\n"
            f"# Load them with: set -a; . {path}; set +a\n"
            f"{ACCESS_KEY_VAR}={credentials.access_key}\n"
            f"{SECRET_KEY_VAR}={credentials.secret_key}\n"
        )
    return path


def _basic_pair(authorization: str | None) -> tuple[str, str] | None:
    """(access key, secret key) from an ``Authorization: Basic`` header, else None. The
    token is read as Latin-1, as the ``ctm`` provider (and ``requests``) encode it."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("latin-1")
    except binascii.Error:
        return None
    access_key, colon, secret_key = decoded.partition(":")
    return (access_key, secret_key) if colon else None


# ---- one request in, one response out ---------------------------------------------------


@dataclass(frozen=True)
class ServerStats:
    """What the simulator counted: API requests received (429s and 401s included),
    429 replies, 401 replies, and injected faults before and after the work."""

    requests: int = 0
    rate_limited: int = 0
    unauthorized: int = 0
    faults_before: int = 0
    faults_after: int = 0
    # Requests per "METHOD endpoint-name" of the endpoint table ("GET users"), so a
    # benchmark can tell which kinds of resource a run asked for.
    by_endpoint: Mapping[str, int] = field(default_factory=dict)

    @property
    def faults(self) -> int:
        """Injected faults, before and after the work together."""
        return self.faults_before + self.faults_after

    def as_json(self) -> dict[str, Any]:
        """The counters as the ``/__stats`` JSON object."""
        return {**asdict(self), "faults": self.faults}


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def _error(status: int, reason: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, {"status": "error", "reason": reason}, headers or {})


_FAULT_REASONS: Mapping[int, str] = {
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


class Simulator:
    """The request pipeline in front of the backend, free of sockets so tests can call
    it directly: count, rate limit, latency, auth, fault before, backend, fault after."""

    def __init__(
        self,
        backend: SandboxBackend,
        *,
        credentials: ExpectedCredentials,
        latency: float = 0.0,
        limiter: SlidingWindow | None = None,
        faults: FaultInjector | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.backend = backend
        self._credentials = credentials
        self._latency = latency
        self._limiter = limiter
        self._faults = faults
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._stats = ServerStats()

    def stats(self) -> ServerStats:
        """A snapshot of the counters."""
        with self._lock:
            return self._stats

    def now(self) -> float:
        """The simulator's clock (seconds): what ``hold``'s ``arrived`` is measured on."""
        return self._clock()

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        """The response to one HTTP request: ``/__stats``, 404 outside ``/api/v1``, 429 over
        the rate limit, 401 without the expected credentials, 400 for a bad JSON body.
        It is returned at once; the server holds it back with ``hold``.
        """
        url = urlsplit(target)
        if url.path == STATS_PATH and method == "GET":
            return Response(200, self.stats().as_json())
        if not _is_api(url.path):
            return _error(404, f"no endpoint at {url.path}: the API is served under {API_PREFIX}")
        self._count("requests")
        self._count_endpoint(method, url.path)
        malformed = _malformed(url.path, url.query)
        if malformed is not None:
            return _error(400, malformed)
        wait = self._limiter.admit() if self._limiter is not None else None
        if wait is not None:
            return self._rate_limited(wait)
        if not self._credentials.accept(authorization):
            self._count("unauthorized")
            return _error(401, "authentication required", {"WWW-Authenticate": 'Basic realm="CTM"'})
        try:
            payload = parse_json(body) if body.strip() else None
        except DocumentError as exc:
            return _error(400, f"the request body is not usable JSON: {exc}")
        return self._handle(method, url.path, dict(parse_qsl(url.query)), payload)

    def hold(self, arrived: float, target: str) -> None:
        """Sleep until ``latency`` seconds after ``arrived`` (on ``now``'s clock) when
        ``target`` is an API path, so the reply to it leaves then: the injected latency is
        the response time, whatever the simulator's own work took before."""
        if self._latency > 0 and _is_api(urlsplit(target).path):
            wait = arrived + self._latency - self._clock()
            if wait > 0:
                self._sleep(wait)

    def _handle(self, method: str, path: str, query: dict[str, str], payload: Any) -> Response:
        fault = self._faults.draw() if self._faults is not None else None
        if fault is not None and fault.timing == "before":
            return self._fault(fault)
        status, reply = self.backend.handle(method, path, query, payload)
        if fault is not None:
            return self._fault(fault)  # the work is done; only the reply is lost
        return Response(status, reply)

    def _rate_limited(self, wait: float) -> Response:
        self._count("rate_limited")
        limit = self._limiter.limit if self._limiter is not None else 0
        retry_after = str(max(1, math.ceil(wait)))
        return _error(
            429,
            f"rate limit exceeded: at most {limit:g} requests per second",
            {"Retry-After": retry_after},
        )

    def _fault(self, fault: Fault) -> Response:
        self._count("faults_before" if fault.timing == "before" else "faults_after")
        return _error(fault.status, f"{_FAULT_REASONS[fault.status]} (injected fault)")

    def _count(self, name: str) -> None:
        with self._lock:
            self._stats = replace(self._stats, **{name: getattr(self._stats, name) + 1})

    def _count_endpoint(self, method: str, path: str) -> None:
        key = f"{method} {self.backend.endpoint_name(path) or 'unknown'}"
        with self._lock:
            counts = dict(self._stats.by_endpoint)
            counts[key] = counts.get(key, 0) + 1
            self._stats = replace(self._stats, by_endpoint=counts)


def _is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _malformed(path: str, query: str) -> str | None:
    """Why the ids or paging of an API request are malformed, or None. Checked here,
    so that a bad id is a 400 naming it and never reaches the backend as a number
    Python cannot convert (``int("²")``, 5,000 digits)."""
    segments = [unquote(s, errors="replace") for s in path[len(API_PREFIX) :].split("/") if s]
    for position, segment in enumerate(segments):
        after = segments[position - 1] if position else ""
        if after == "accounts" and not _ACCOUNT_ID.fullmatch(segment):
            return "malformed account id: expected up to 18 ASCII digits"
        if not _OBJECT_ID.fullmatch(segment):
            return "malformed id in the path: expected letters, digits, '_', '.', ':', '-'"
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in ("page", "per_page") and not _PAGE_NUMBER.fullmatch(value):
            return f"{key} must be a positive integer of at most 9 ASCII digits"
    return None


# ---- the HTTP server --------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connections
    server_version = "hipaactl-sandbox"
    sys_version = ""
    timeout = IDLE_CONNECTION_SECONDS
    # Headers and body go out in two writes; with Nagle's algorithm on, the client's
    # delayed ACK would hold the second one back about 40 ms on every request.
    disable_nagle_algorithm = True
    _arrived = 0.0  # set by parse_request, on the simulator's clock

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request."""

    def parse_request(self) -> bool:
        """The request line has just been read: the request has arrived (for ``hold``)."""
        self._arrived = self.server.simulator.now()
        return super().parse_request()

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            response = _error(
                400, f"the request body must have a Content-Length of at most {MAX_BODY_BYTES}"
            )
            self.close_connection = True
        else:
            try:
                response = self.server.simulator.respond(
                    method, self.path, self.headers.get("Authorization"), body
                )
            except Exception as exc:  # a bug here must reach the client, not kill the thread
                response = _error(500, f"internal error in the sandbox: {type(exc).__name__}")
        self._send(response)

    def _read_body(self) -> bytes | None:
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError:
            return None
        if not 0 <= length <= MAX_BODY_BYTES:
            return None
        return self.rfile.read(length)

    def _send(self, response: Response) -> None:
        """Compose the reply, hold it until its latency is served, then write it."""
        data = json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in sorted(response.headers.items()):
            self.send_header(name, value)
        self.server.simulator.hold(self._arrived, self.path)
        self.end_headers()
        self.wfile.write(data)


class SandboxServer(HTTPServer):
    """An HTTP server whose requests go to one ``Simulator``, served by a bounded pool of
    ``max_workers`` threads. The simulator is built once the socket is bound, since
    ``next_page`` URLs need the real port. ``credentials_file``, when set, is the
    generated credentials file; it is removed (with its folder) on ``server_close``."""

    def __init__(
        self,
        host: str,
        port: int,
        make_simulator: Callable[[str], Simulator],
        *,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        # Set before binding: a failed bind calls server_close, which uses them.
        self.credentials_file: Path | None = None
        self._slots = threading.BoundedSemaphore(max_workers)
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="sandbox-worker")
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), _Handler)
        try:
            self.simulator = make_simulator(self.url)
        except BaseException:
            self.server_close()
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a free worker, or answer 503 at once when none is."""
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        self._pool.submit(self._work, request, client_address)

    def _work(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)
            self.shutdown_request(request)
            self._slots.release()

    def server_close(self) -> None:
        """Close the listening socket, end every open connection (a keep-alive client
        would otherwise hold its worker, and process exit, for the idle timeout), and
        remove a generated credentials file."""
        super().server_close()
        with self._open_lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.credentials_file is not None:
            shutil.rmtree(self.credentials_file.parent, ignore_errors=True)

    @property
    def url(self) -> str:
        """The API's base URL, ``http://HOST:PORT/api/v1``; a wildcard address is shown
        as the loopback address, which is where a client on this machine reaches it."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}{API_PREFIX}"

    def stats(self) -> ServerStats:
        """A snapshot of the simulator's counters."""
        return self.simulator.stats()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up mid-reply is its own business; the handler
        already turns every other failure into a 500 reply."""


def _refuse_busy(connection: socket.socket) -> None:
    body = json.dumps({"status": "error", "reason": "the sandbox is busy; retry"}).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        connection.settimeout(1.0)
        connection.sendall(head.encode("ascii") + body)


def host_warning(host: str) -> str | None:
    """A warning when ``host`` is not a loopback address: the simulator (and its
    credentials, sent in clear over plain http) is then reachable from other machines."""
    if is_loopback(host.strip("[]")):
        return None
    return (
        f"listening on {host}, which other machines may reach: the sandbox speaks plain "
        "http, so its credentials and data cross the network unencrypted; use "
        "--host 127.0.0.1 unless you mean it"
    )


def create_server(
    options: ServeOptions,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    credentials_dir: Path | None = None,
    max_workers: int = MAX_WORKERS,
) -> SandboxServer:
    """Bind the simulator's socket (not yet serving: call ``serve_forever``).

    Credentials come from ``environ`` (``CTM_ACCESS_KEY`` / ``CTM_SECRET_KEY``), else a
    generated pair is written to ``credentials_dir`` (default: a new private temporary
    folder) and ``server.credentials_file`` names the file.

    Raises ``UsageError`` for bad options or half-set credentials and
    ``SandboxServerError`` for an unreadable state file or an address that cannot be
    bound.
    """
    problems = option_problems(options)
    if problems:
        raise UsageError("; ".join(problems))
    document, store = load_document(options)
    from_environ = ExpectedCredentials.from_environ(os.environ if environ is None else environ)
    credentials = from_environ or ExpectedCredentials.generate()

    def make_simulator(url: str) -> Simulator:
        backend = SandboxBackend(
            document,
            store=store,
            base_url=url,
            page_cap=options.page_cap,
            ignore_field=options.ignore_field,
            error_body_writes=options.error_body_writes,
        )
        limiter = (
            SlidingWindow(options.rate_limit, clock=clock)
            if options.rate_limit is not None
            else None
        )
        faults = FaultInjector(options.fail_rate, options.seed) if options.fail_rate > 0 else None
        return Simulator(
            backend,
            credentials=credentials,
            latency=options.latency_ms / 1000,
            limiter=limiter,
            faults=faults,
            sleep=sleep,
            clock=clock,
        )

    try:
        server = SandboxServer(options.host, options.port, make_simulator, max_workers=max_workers)
    except OSError as err:
        raise SandboxServerError(
            f"cannot listen on {options.host} port {options.port}: {err.strerror or err}",
            hint="pick another --port (0 picks a free one) or another --host",
        ) from None
    if from_environ is None:
        folder = credentials_dir or Path(tempfile.mkdtemp(prefix="hipaactl-sandbox-"))
        try:
            server.credentials_file = write_credentials_file(credentials, folder)
        except OSError as err:
            server.server_close()
            raise SandboxServerError(
                f"cannot write the generated credentials to {folder}: {err.strerror or err}",
                hint=f"set {ACCESS_KEY_VAR} and {SECRET_KEY_VAR} for sandbox serve instead",
            ) from None
    return server


@contextmanager
def serving(
    options: ServeOptions,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    max_workers: int = MAX_WORKERS,
) -> Iterator[SandboxServer]:
    """The simulator serving from a background thread for the ``with`` block; it is shut
    down and its socket closed on exit."""
    server = create_server(
        options, environ=environ, sleep=sleep, clock=clock, max_workers=max_workers
    )
    thread = threading.Thread(
        target=server.serve_forever, args=(POLL_SECONDS,), name="sandbox-serve", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
