"""No part of a credential reaches any sink, whatever a hostile server echoes (SPEC
section 9, issue 14).

A local server answers reads from the sandbox backend and, for the reads or the writes
of one example, echoes the keys and the Authorization header back in one of many
shapes: long plain bodies (the keys past the 200-character cut), whitespace runs,
JSON with and without ``\\uXXXX`` escapes, JSON nested in JSON, URL-encoded, raw
Latin-1 bytes, a redirect to a host named after a key. Hypothesis draws the keys
(non-ASCII Latin-1, whitespace, regex specials) and the shape; ``plan --notify``,
``check -o --notify`` and ``apply`` run through the real CLI, and no 8 characters of
either key may appear on stdout, stderr, in any file under the config folder, or in
an alert, as they are, JSON-decoded or URL-decoded.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipaactl.cli import main
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from tests.e2e.conftest import write_config
from tests.webhook import Receiver, receiving

FRAGMENT = 8
SHAPES = (
    "plain",
    "json",
    "json_ascii",
    "json_in_json",
    "url",
    "latin1_bytes",
    "redirect",
)
# Specials and non-ASCII first: Hypothesis shrinks towards the start of the alphabet.
ALPHABET = (
    "é \t(ß*+?[]{}|\\^$.øÿ¡¿§µÆ\"'%&<>=/#!~;,\n"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)


def key_strategy(alphabet: str) -> st.SearchStrategy[str]:
    """Keys of 12 to 24 distinct characters: every 8-character window is distinct
    enough never to occur in hipaactl's own output by chance."""
    return (
        st.lists(st.sampled_from(alphabet), unique=True, min_size=12, max_size=24)
        .map("".join)
        .filter(lambda key: key == key.strip())
    )


@dataclass
class Echo:
    """What the hostile server does for the current example."""

    access: str = ""
    secret: str = ""
    shape: str = "plain"
    on: str = "reads"  # "reads": GET .../users fails; "writes": every write fails
    status: int = 500
    lead: int = 180  # characters before the first key: around the 200-character cut


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HostileHandler)
        self.echo = Echo()
        self.backend = SandboxBackend(generate_agency(1, seed=1), base_url=self.url)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v1"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: the client may hang up on a reply it refuses."""


class HostileHandler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        echo = self.server.echo
        url = urlsplit(self.path)
        hostile = (
            echo.on == "writes" and method != "GET"
        ) or (echo.on == "reads" and url.path.endswith("/users"))  # fmt: skip
        if hostile:
            self._echo(echo)
            return
        payload = json.loads(body) if body.strip() else None
        status, reply = self.server.backend.handle(
            method, url.path, dict(parse_qsl(url.query)), payload
        )
        self._send(status, json.dumps(reply).encode("utf-8"))

    def _echo(self, echo: Echo) -> None:
        authorization = self.headers.get("Authorization", "")
        pad = ("the request could not be served because " * 8)[: echo.lead]
        text = (
            f"{pad}{echo.access}   secret=\t{echo.secret}\n\n"
            f"Authorization: {authorization} pair={echo.access}:{echo.secret} {pad}"
        )
        if echo.shape == "redirect":
            location = f"http://{quote(echo.access, safe='')}.example/{quote(echo.secret)}"
            self._send(302, b"", {"Location": location})
            return
        self._send(echo.status, echo_body(echo, text, pad))

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def echo_body(echo: Echo, text: str, pad: str) -> bytes:
    """The reply body for ``echo.shape``; ``text`` holds the keys and the header."""
    if echo.shape == "json":
        return json.dumps({"reason": text}, ensure_ascii=False).encode("utf-8")
    if echo.shape == "json_ascii":
        return json.dumps({"status": "error", "reason": text}).encode()
    if echo.shape == "json_in_json":
        return json.dumps({"errors": {"base": [text, json.dumps(text)]}}).encode()
    if echo.shape == "url":
        return (
            f"{pad} {quote(echo.access)} {quote_plus(echo.secret)} "
            f"{quote(echo.secret, safe='')} {quote(echo.secret.encode('latin-1'))}"
        ).encode()
    if echo.shape == "latin1_bytes":
        return text.encode("latin-1")
    return text.encode("utf-8")


@contextlib.contextmanager
def hostile_server() -> Iterator[HostileServer]:
    server = HostileServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with hostile_server() as server:
        yield server


@pytest.fixture(scope="module")
def alerts() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


def run_cli(*args: str) -> tuple[int, str]:
    """The real CLI in process; its exit code and everything it printed."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
    return code, stdout.getvalue() + stderr.getvalue()


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def readings(text: str) -> list[str]:
    """``text`` as it is, URL-decoded, and the strings of its JSON (whole, or line by
    line), so an escaped key is seen as the key."""
    views = [text, unquote(text)]
    for chunk in (text, *text.splitlines()):
        try:
            views.extend(strings_in(json.loads(chunk)))
        except ValueError:
            continue
    return views


def file_texts(folder: Path) -> dict[str, str]:
    texts = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            texts[str(path)] = data.decode("utf-8", "replace") + data.decode("latin-1")
    return texts


def fragments(key: str) -> set[str]:
    return {key[i : i + FRAGMENT] for i in range(len(key) - FRAGMENT + 1)}


def leaks(sinks: dict[str, str], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    found = []
    pieces = set().union(*(fragments(key) for key in keys))
    for name, text in sinks.items():
        for view in readings(text):
            found += [(name, piece) for piece in pieces if piece in view]
    return sorted(set(found))


@settings(
    max_examples=int(os.environ.get("HIPAACTL_SECRET_EXAMPLES", "12")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    access=key_strategy(ALPHABET.replace(":", "")),
    secret=key_strategy(ALPHABET + ":"),
    shape=st.sampled_from(SHAPES),
    on=st.sampled_from(("reads", "writes")),
    status=st.sampled_from((400, 401, 403, 422, 500)),
    lead=st.integers(min_value=150, max_value=199),
)
def test_no_fragment_of_a_key_reaches_any_sink(
    hostile: HostileServer,
    alerts: Receiver,
    access: str,
    secret: str,
    shape: str,
    on: str,
    status: int,
    lead: int,
) -> None:
    hostile.echo = Echo(access, secret, shape, on, status, lead)
    alerts.bodies.clear()
    environ = {
        "CTM_ACCESS_KEY": access,
        "CTM_SECRET_KEY": secret,
        "HIPAACTL_HASH_KEY": "test-hash-key",
        "NO_COLOR": "1",
    }
    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ, environ):
        config = str(write_config(Path(folder), hostile.url, parallelism=1))
        notify = ("--notify", alerts.url)
        runs = {
            "plan": run_cli("-c", config, "plan", "-o", str(Path(folder, "plan.json")), *notify),
            "check": run_cli(
                "-c", config, "check", "--format", "json", "-o", str(Path(folder, "r.json")),
                *notify,
            ),
            "apply": run_cli("-c", config, "apply", "--auto-approve", "--force"),
        }  # fmt: skip
        sinks = {name: output for name, (_, output) in runs.items()}
        sinks.update(file_texts(Path(folder)))
    sinks.update({f"alert {n}": json.dumps(body) for n, body in enumerate(alerts.bodies)})

    assert runs["apply"][0] == 1, runs["apply"][1]  # the echoing reply made it fail
    assert alerts.bodies, "an error or drift is always alerted"
    assert leaks(sinks, (access, secret)) == [], (shape, on, sinks)


def test_the_echo_shapes_do_carry_the_keys() -> None:
    """The property above is only as strong as its echoes: each shape, decoded the way
    the test reads sinks, holds both keys or the Basic token."""
    access, secret = "acc-é(x*1", "sec \tß+?[2"
    token = base64.b64encode(f"{access}:{secret}".encode("latin-1")).decode()
    with hostile_server() as server:
        server.echo = Echo(access, secret, "plain", "reads", 500)
        for shape in SHAPES:
            server.echo.shape = shape
            reply = _raw_get(server.url + "/accounts/1001/users", f"Basic {token}")
            views = readings(reply.decode("latin-1")) + readings(reply.decode("utf-8", "replace"))
            decoded = " ".join(views)
            if shape == "redirect":
                assert quote(access, safe="") in decoded or access in decoded
                continue
            assert any(secret in view for view in views), shape
            assert access in decoded or quote(access) in decoded, shape
            if shape not in ("url",):
                assert token in decoded, shape


def _raw_get(url: str, authorization: str) -> bytes:
    import http.client

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("GET", parts.path, headers={"Authorization": authorization})
        response = connection.getresponse()
        return response.read() + str(response.getheader("Location") or "").encode()
    finally:
        connection.close()
