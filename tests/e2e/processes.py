"""Run hipaactl in child processes, for the tests that need real processes: signals,
two applies racing for the lock, ``sandbox serve`` as a separate program.

Every wait is bounded and every child is ended in a ``finally``, so a hung child fails
its test instead of hanging the suite.

    with serve("--accounts", "4", "--latency-ms", "20") as sandbox:
        result = run_hipaactl("-c", str(config), "plan", cwd=tmp_path)
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

from hipaactl.providers.sandbox.server import SandboxServer, Simulator
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY

# Long enough for a slow CI machine, short enough that a hang fails the test quickly.
RUN_TIMEOUT_SECONDS = 30.0
SERVE_START_SECONDS = 10.0
STOP_SECONDS = 5.0
POLL_SECONDS = 0.02
_URL_LINE = re.compile(r"Serving CTM-compatible sandbox on (http://\S+)")
# Variables of the test runner's environment that would change what the child does.
_DROPPED = ("HIPAACTL_CONFIG", "CTM_ACCESS_KEY_FILE", "CTM_SECRET_KEY_FILE", "HIPAACTL_ACTOR")


@dataclass(frozen=True)
class Finished:
    """A child that exited: its code, its output, and how long it ran."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the test credentials and no colour."""
    environ = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    environ.update(
        {
            "CTM_ACCESS_KEY": ACCESS_KEY,
            "CTM_SECRET_KEY": SECRET_KEY,
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    environ.update(extra or {})
    return environ


@dataclass
class Child:
    """A running ``python -m hipaactl ...``; ``finish`` waits for it (bounded)."""

    process: subprocess.Popen[str]
    started: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def finish(self, timeout: float = RUN_TIMEOUT_SECONDS) -> Finished:
        """Wait for the exit; a child still running after ``timeout`` is killed and the
        test fails with what it printed so far."""
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
            raise AssertionError(
                f"hipaactl {self.process.args!r} still running after {timeout:g} s\n"
                f"stdout:\n{stdout}\nstderr:\n{stderr}"
            ) from None
        return Finished(self.process.returncode, stdout, stderr, time.monotonic() - self.started)

    def stop(self) -> None:
        """End the child if it still runs (used in ``finally``)."""
        if self.running():
            self.process.kill()
        self.process.communicate(timeout=STOP_SECONDS)


def start_hipaactl(
    *args: str, cwd: Path, environ: Mapping[str, str] | None = None, module: str = "hipaactl"
) -> Child:
    """``python -m hipaactl ARGS`` (or another ``module`` that runs hipaactl's main)."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=child_environment(environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    return Child(process, time.monotonic())


def run_hipaactl(
    *args: str,
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    timeout: float = RUN_TIMEOUT_SECONDS,
    module: str = "hipaactl",
) -> Finished:
    child = start_hipaactl(*args, cwd=cwd, environ=environ, module=module)
    try:
        return child.finish(timeout)
    finally:
        child.stop()


@contextmanager
def running(*args: str, cwd: Path, environ: Mapping[str, str] | None = None) -> Iterator[Child]:
    """A hipaactl child for the ``with`` block; killed on the way out if still running."""
    child = start_hipaactl(*args, cwd=cwd, environ=environ)
    try:
        yield child
    finally:
        child.stop()


@dataclass(frozen=True)
class Sandbox:
    """A ``hipaactl sandbox serve`` child: its API URL and process."""

    url: str
    process: subprocess.Popen[str]

    def get(self, path: str, **params: Any) -> Any:
        """GET an API path (``/accounts/1001/users``) with the test credentials."""
        reply = requests.get(
            self.url + path, params=params, auth=(ACCESS_KEY, SECRET_KEY), timeout=STOP_SECONDS
        )
        reply.raise_for_status()
        return reply.json()

    def stats(self) -> dict[str, int]:
        origin = self.url.rsplit("/api/", 1)[0]
        reply = requests.get(origin + "/__stats", timeout=STOP_SECONDS)
        reply.raise_for_status()
        result: dict[str, int] = reply.json()
        return result

    def users(self, account_id: int) -> list[dict[str, Any]]:
        """Every user of an account, following ``next_page`` to the end."""
        users: list[dict[str, Any]] = []
        page = 1
        while True:
            reply = self.get(f"/accounts/{account_id}/users", page=page, per_page=150)
            users.extend(reply["users"])
            if not reply.get("next_page"):
                return users
            page += 1


@contextmanager
def serve(*options: str, environ: Mapping[str, str] | None = None) -> Iterator[Sandbox]:
    """Run ``hipaactl sandbox serve --port 0 OPTIONS`` until the block ends; the URL is
    parsed from the line it prints. SIGTERM on the way out, then kill if it lingers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hipaactl", "sandbox", "serve", "--port", "0", *options],
        env=child_environment(environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        url = _read_url(process)
        yield Sandbox(url, process)
    finally:
        _terminate(process)


def _read_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = _read_line(process.stdout, SERVE_START_SECONDS)
    match = _URL_LINE.search(line or "")
    if match is None:
        process.kill()
        _, stderr = process.communicate(timeout=STOP_SECONDS)
        raise AssertionError(f"sandbox serve printed no URL: {line!r}\nstderr:\n{stderr}")
    return match.group(1)


def _read_line(stream: IO[str], timeout: float) -> str | None:
    """One line from a child's pipe, or None after ``timeout``; a thread does the
    blocking read so the wait is bounded on every platform."""
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True)
    reader.start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return None


def _terminate(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.communicate(timeout=STOP_SECONDS)
            return
        except subprocess.TimeoutExpired:
            process.kill()
    process.communicate(timeout=STOP_SECONDS)


@contextmanager
def serve_simulator(make_simulator: Callable[[str], Simulator]) -> Iterator[SandboxServer]:
    """The sandbox's HTTP server in a thread of this process, with a custom simulator
    (``make_simulator(base_url)``): for faults ``sandbox serve`` cannot inject, such as
    a write that hangs or a reply cut short. Child processes reach it by its URL."""
    server = SandboxServer("127.0.0.1", 0, make_simulator)
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=STOP_SECONDS)


def closed_port_url() -> str:
    """An API URL on 127.0.0.1 where nothing listens, so connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def count_records(log: Path) -> int:
    """Complete lines in a change log (0 when it does not exist yet)."""
    try:
        return log.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def read_records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
