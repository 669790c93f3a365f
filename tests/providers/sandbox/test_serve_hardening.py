"""Issue 15, item 4: ``sandbox serve`` always requires credentials, warns off loopback,
answers 400 for malformed ids and pages, and caps its threads.

The command runs as a child process (``python -m hipaactl sandbox serve --port 0``), as
a user runs it; the thread cap is checked on the server object with raw sockets.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from hipaactl.providers.sandbox.server import ServeOptions, host_warning, serving

KEYS = {"CTM_ACCESS_KEY": "serve-access", "CTM_SECRET_KEY": "serve-secret"}
URL_PREFIX = "Serving CTM-compatible sandbox on "
TIMEOUT = 10


@dataclass
class Child:
    process: subprocess.Popen[str]
    url: str
    stderr_lines: list[str]


@contextmanager
def serve(*args: str, environ: dict[str, str]) -> Iterator[Child]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "hipaactl", "sandbox", "serve", "--port", "0", *args],
        env={**env, **environ, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        assert line.startswith(URL_PREFIX), (line, process.stderr.read())
        # Everything before the URL line is on stderr already: read up to "Serving ...".
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Serving "):
            lines.append(process.stderr.readline())
        yield Child(process, line[len(URL_PREFIX) :].strip(), lines)
    finally:
        process.terminate()
        process.communicate(timeout=TIMEOUT)


def test_without_keys_in_its_environment_it_generates_a_pair_in_a_private_file() -> None:
    with serve("--accounts", "1", environ={}) as child:
        note = next(line for line in child.stderr_lines if line.startswith("Credentials:"))
        path = Path(note.split(" in ", 1)[1].split(" (mode", 1)[0])
        mode = stat.S_IMODE(path.stat().st_mode)
        folder_mode = stat.S_IMODE(path.parent.stat().st_mode)
        values = dict(
            line.split("=", 1) for line in path.read_text("utf-8").splitlines() if "=" in line
        )
        keys = (values["CTM_ACCESS_KEY"], values["CTM_SECRET_KEY"])
        anonymous = requests.get(f"{child.url}/accounts", timeout=TIMEOUT)
        guessed = requests.get(f"{child.url}/accounts", auth=("a", "b"), timeout=TIMEOUT)
        right = requests.get(f"{child.url}/accounts", auth=keys, timeout=TIMEOUT)

    assert (mode, folder_mode) == (0o600, 0o700)
    assert (anonymous.status_code, guessed.status_code, right.status_code) == (401, 401, 200)
    printed = "".join(child.stderr_lines)
    assert keys[0] not in printed and keys[1] not in printed  # the path, never the values
    assert not path.exists()  # removed when the server stopped


def test_keys_from_its_environment_are_the_only_ones_accepted() -> None:
    with serve("--accounts", "1", environ=KEYS) as child:
        wrong = requests.get(f"{child.url}/accounts", auth=("any", "thing"), timeout=TIMEOUT)
        right = requests.get(
            f"{child.url}/accounts",
            auth=(KEYS["CTM_ACCESS_KEY"], KEYS["CTM_SECRET_KEY"]),
            timeout=TIMEOUT,
        )

    assert (wrong.status_code, right.status_code) == (401, 200)
    assert any("from this environment" in line for line in child.stderr_lines)
    assert not any(line.startswith("warning:") for line in child.stderr_lines)


def test_a_non_loopback_host_gets_a_warning() -> None:
    with serve("--host", "0.0.0.0", "--accounts", "1", environ=KEYS) as child:
        pass

    warning = next(line for line in child.stderr_lines if line.startswith("warning:"))
    assert "listening on 0.0.0.0, which other machines may reach" in warning
    assert host_warning("127.0.0.1") is None and host_warning("::1") is None
    assert host_warning("localhost") is None
    assert host_warning("192.0.2.7") is not None


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/abc/users",
        "/accounts/%C2%B2/users",  # "²": str.isdigit() says yes, int() says no
        "/accounts/" + "9" * 5000 + "/users",
        "/accounts/1001/users/%00",
        "/accounts/1001/users/" + "x" * 200,
        "/accounts?page=abc",
        "/accounts?page=%C2%B2",
        "/accounts?page=" + "9" * 5000,
        "/accounts?per_page=-1",
        "/accounts?page=0",
    ],
)
def test_malformed_ids_and_pages_are_400(path: str) -> None:
    with serving(ServeOptions(accounts=1), environ=KEYS) as server:
        reply = requests.get(
            server.url + path,
            auth=(KEYS["CTM_ACCESS_KEY"], KEYS["CTM_SECRET_KEY"]),
            timeout=TIMEOUT,
        )

    assert reply.status_code == 400, reply.text
    assert reply.json()["status"] == "error"


def test_its_threads_are_capped() -> None:
    with ExitStack() as stack:
        server = stack.enter_context(serving(ServeOptions(accounts=1), environ=KEYS, max_workers=2))
        host, port = str(server.server_address[0]), int(server.server_address[1])
        before = threading.active_count()
        # Two idle keep-alive connections hold both workers...
        idle = [stack.enter_context(socket.create_connection((host, port))) for _ in range(2)]
        for connection in idle:
            connection.sendall(b"GET /__stats HTTP/1.1\r\nHost: x\r\n\r\n")
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        # ...so a third is answered 503 at once instead of getting a thread of its own.
        third = stack.enter_context(socket.create_connection((host, port)))
        third.settimeout(TIMEOUT)
        answer = third.recv(4096)
        during = threading.active_count()

    assert answer.startswith(b"HTTP/1.1 503")
    assert b"Retry-After: 1" in answer
    assert during <= before + 2
