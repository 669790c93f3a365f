"""Issue 15, item 1: every request has a total deadline and a body cap, and hostile
replies are clean errors naming the endpoint, through the real CLI (``hipaactl plan``)
against a hostile local server.

The deadline and the cap are shrunk for the run (``DEFAULT_DEADLINE_SECONDS``,
``MAX_BODY_BYTES``) so the tests stay fast; the production values are asserted too.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hipaactl.providers import limits
from hipaactl.providers.ctm import http
from tests.e2e.conftest import Run, write_config
from tests.hostile import Behaviour, drip_body, drip_headers, gzip_bomb, hostile, reply

Hipaactl = Callable[..., Run]
DEADLINE = 0.2
CAP = 1_000_000


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "DEFAULT_DEADLINE_SECONDS", DEADLINE)
    monkeypatch.setattr(limits, "MAX_BODY_BYTES", CAP)


def plan_against(behaviour: Behaviour, tmp_path: Path, hipaactl: Hipaactl) -> tuple[Run, float]:
    with hostile(behaviour) as server:
        config = str(write_config(tmp_path, server.api_url))
        started = time.monotonic()
        result = hipaactl("-c", config, "plan")
    return result, time.monotonic() - started


def assert_clean_error(result: Run, *words: str) -> None:
    assert result.code == 1, result.output
    assert "GET /accounts" in result.stderr  # the endpoint is named
    for word in words:
        assert word in result.stderr, result.stderr
    assert "unexpected" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "No changes" not in result.stdout


def test_the_production_limits_are_the_spec_values() -> None:
    # The module constants are shrunk for these tests; the defaults bound at import are not.
    assert inspect.signature(http.HttpTransport).parameters["deadline"].default == 60.0
    assert inspect.signature(limits.read_body).parameters["limit"].default == 50_000_000


@pytest.mark.parametrize(
    "behaviour",
    [drip_body(), drip_headers()],
    ids=["body one byte at a time", "headers one byte at a time"],
)
def test_a_slow_drip_ends_at_the_deadline(
    behaviour: Behaviour, tmp_path: Path, hipaactl: Hipaactl
) -> None:
    result, elapsed = plan_against(behaviour, tmp_path, hipaactl)

    assert_clean_error(result, f"no complete reply from 127.0.0.1 within {DEADLINE:g} s")
    # Six attempts of 0.2 s each and millisecond backoff: far below the drip's length
    # (10,000 bytes at 0.02 s, 200 s).
    assert elapsed < 10


def test_a_gzip_bomb_stops_at_the_cap(tmp_path: Path, hipaactl: Hipaactl) -> None:
    # 50 KB on the wire, 50 MB inflated: counted after decompression, it passes the cap.
    result, _ = plan_against(gzip_bomb(50 * CAP), tmp_path, hipaactl)

    assert_clean_error(result, f"the reply is larger than {CAP:,} bytes")
    assert "gave up" not in result.stderr  # the same bomb would come again: no retry


def test_a_body_announced_over_the_cap_is_refused_unread(
    tmp_path: Path, hipaactl: Hipaactl
) -> None:
    result, _ = plan_against(reply(200, b" " * (CAP + 1)), tmp_path, hipaactl)

    assert_clean_error(result, "larger than")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
        (b"[" * 500 + b"]" * 500, "nested deeper than 64 levels"),
        (b'{"accounts": [], "total_pages": ' + b"9" * 5_000 + b"}", "longer than"),
    ],
    ids=["nesting past the recursion limit", "nesting under it", "5,000 digits"],
)
def test_hostile_json_is_an_unreadable_reply(
    body: bytes, said: str, tmp_path: Path, hipaactl: Hipaactl
) -> None:
    result, _ = plan_against(reply(200, body), tmp_path, hipaactl)

    assert_clean_error(result, "the reply was not usable JSON", said)
