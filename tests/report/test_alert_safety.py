"""Issue 15, item 2: alerts are safe in every format, through the real CLI.

Hostile text comes from the live state (ids a server sends: ``<!channel>``, ``@here``,
non-ASCII names) and from a hostile CTM server's error reason (the echo); webhooks that
redirect or drip are local servers too. An alert never holds ``@``, markup a receiver
would act on, or a non-ASCII name; a last guard refuses any payload that would; posts do
not follow redirects and have a total deadline; none of it changes the exit code.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipaactl.canonical import DocumentError, check_nesting, parse_json
from hipaactl.model.addresses import resource_address
from hipaactl.report import alerts
from hipaactl.report.alerts import NotifyError, Pseudonymizer, deliver, refuse_unsafe, url_warning
from hipaactl.report.escape import html_text, markdown_text, slack_text, xml_text
from tests.conftest import CliRunner
from tests.e2e.conftest import write_config
from tests.hostile import drip_headers, hostile, redirect, reply
from tests.webhook import Receiver, receiving

HOSTILE_ID = "<!channel> @here Zoë Bärtschi"
HOSTILE_REASON = "<!channel> @everyone user Zoë Bärtschi (zoe@clinic.example) exists"
# Fixed text of hipaactl's own Slack layout; everything else in an alert is ASCII.
OWN_SYMBOLS = {"•", "…"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


def hostile_seed(folder: Path) -> None:
    """The clinic's ineligible number (which fails CTM-NUM-01) gets a hostile id."""
    path = folder / "sandbox" / "agency.json"
    seed = json.loads(path.read_text(encoding="utf-8"))
    seed["accounts"][0]["numbers"][1]["id"] = HOSTILE_ID
    path.write_text(json.dumps(seed), encoding="utf-8")


def assert_safe(payload: Any) -> None:
    text = json.dumps(payload, ensure_ascii=False)
    assert "@" not in text
    assert "<!" not in text and "Zo" not in text and "Bärtschi" not in text
    assert {c for c in text if ord(c) > 127} <= OWN_SYMBOLS


def target_of(kind: str, url: str) -> str:
    return url if kind == "json" else f"{kind}:{url}"


@pytest.mark.parametrize("kind", ["slack", "json", "teams"])
def test_hostile_live_ids_are_hashed_and_escaped(
    clinic: Path, cli: CliRunner, receiver: Receiver, kind: str
) -> None:
    hostile_seed(clinic)
    slack = kind == "slack"

    result = cli("check", "--notify", target_of(kind, receiver.url))

    assert result.code == 3, result.err
    (payload,) = receiver.bodies
    assert_safe(payload)
    text = payload["text"] if slack else json.dumps(payload)
    assert "account[1001].number[h:" in text  # named by hash, still traceable
    if slack:
        assert "<" not in text.replace("<http", "")  # no Slack control sequence at all


@pytest.mark.parametrize("kind", ["slack", "json", "teams"])
def test_a_server_reason_echoed_into_an_error_alert_is_made_safe(
    tmp_path: Path, cli: CliRunner, receiver: Receiver, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTM_ACCESS_KEY", "alert-access")
    monkeypatch.setenv("CTM_SECRET_KEY", "alert-secret")
    echo = reply(400, {"status": "error", "reason": HOSTILE_REASON})
    target = target_of(kind, receiver.url)
    with hostile(echo) as server:
        config = write_config(tmp_path, server.api_url)
        result = cli("-c", str(config), "plan", "--notify", target)

    assert result.code == 1
    assert HOSTILE_REASON in result.err  # the terminal shows the reason as the server said
    (payload,) = receiver.bodies
    assert_safe(payload)
    text = {"slack": lambda: payload["text"], "json": lambda: payload["errors"][0]}.get(
        kind, lambda: json.dumps(payload)
    )()
    assert "GET /accounts HTTP 400" in text  # what failed stays readable


def test_the_last_guard_refuses_a_payload_with_an_at_sign(
    clinic: Path, cli: CliRunner, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A builder bug: user addresses no longer hashed. The guard still stops the post.
    monkeypatch.setattr(Pseudonymizer, "address", lambda self, address: address)

    result = cli("plan", "--detailed-exitcode", "--notify", receiver.url)

    assert result.code == 2  # the exit code is the plan's
    assert receiver.bodies == []
    assert "notification refused: the alert would contain '@'" in result.err
    assert "dr.lee" not in result.err  # the refusal does not quote what it refused


def test_webhook_redirects_are_not_followed(
    clinic: Path, cli: CliRunner, receiver: Receiver
) -> None:
    with hostile(redirect(receiver.url)) as webhook:
        result = cli("plan", "--detailed-exitcode", "--notify", f"{webhook.origin}/hook")
        posted = len(webhook.record.requests)

    assert result.code == 2
    assert posted == 1
    assert receiver.bodies == []
    assert "redirect (HTTP 307), which hipaactl does not follow" in result.err
    assert webhook.origin not in result.err and receiver.url not in result.err


def test_a_dripping_webhook_ends_at_the_deadline(
    clinic: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts, "ALERT_DEADLINE_SECONDS", 0.2)
    with hostile(drip_headers()) as webhook:
        started = time.monotonic()
        result = cli("plan", "--detailed-exitcode", "--notify", f"{webhook.origin}/hook")
        elapsed = time.monotonic() - started

    assert result.code == 2
    assert "notification failed: no reply within 0.2 s" in result.err
    assert elapsed < 5  # the drip would take 200 s


def test_an_http_alert_url_gets_a_warning(clinic: Path, cli: CliRunner, receiver: Receiver) -> None:
    result = cli("plan", "--detailed-exitcode", "--notify", f"slack:{receiver.url}")

    assert result.code == 2
    assert "warning: the alert URL uses plain http://" in result.err
    assert receiver.url not in result.err
    assert url_warning("https://hooks.slack.com/services/x") is None
    assert url_warning("slack:https://hooks.slack.com/services/x") is None
    assert url_warning("teams:https://x.logic.azure.com/workflows/1") is None
    assert url_warning("teams:http://127.0.0.1:9/hook") is not None


def test_the_default_alert_deadline_is_ten_seconds() -> None:
    assert alerts.ALERT_DEADLINE_SECONDS == 10.0


def test_the_guard_runs_for_every_format_and_refuses_control_characters() -> None:
    sent: list[Any] = []
    summary = {"source": "hipaactl plan", "status": "drift", "errors": ["a\x1b[31m"]}
    for target in (
        "https://hooks.example/x",
        "slack:https://hooks.example/x",
        "teams:https://hooks.example/x",
    ):
        with pytest.raises(NotifyError, match="control character"):
            deliver(target, summary, post=lambda url, body: sent.append(body))
    with pytest.raises(NotifyError, match="must start with https://"):
        deliver("file:///etc/passwd", {"source": "s", "status": "drift"}, post=lambda u, b: None)
    assert sent == []
    refuse_unsafe({"text": "plain"})  # no error


def test_one_escaping_function_per_format() -> None:
    assert slack_text("<!channel> & <@U1|x>") == "&lt;!channel&gt; &amp; &lt;@U1|x&gt;"
    assert markdown_text("[x](http://e) *b* @team <i> a|b") == (
        "\\[x\\](http://e) \\*b\\* @\u2060team &lt;i&gt; a\\|b"
    )
    assert markdown_text("idle_timeout_minutes _em_") == "idle_timeout_minutes \\_em\\_"
    assert html_text('<a href="x">\'&') == "&lt;a href=&#34;x&#34;&gt;&#39;&amp;"
    assert xml_text("ok\x00\x1b\ttab") == "ok\ufffd\ufffd\ttab"


# -- invariants ------------------------------------------------------------------------------

ANY_TEXT = st.text(max_size=200)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(object_id=ANY_TEXT, message=ANY_TEXT)
def test_whatever_a_server_sends_an_alert_is_plain_ascii_without_at(
    object_id: str, message: str
) -> None:
    pseudonyms = Pseudonymizer(b"k")
    address = pseudonyms.address(resource_address(1001, "number", object_id))
    text = pseudonyms.text(f"GET /accounts HTTP 422: {message}")
    summary = {"source": "hipaactl check", "status": "error", "errors": [text]}
    summary["failed"] = [{"rule_id": "CTM-NUM-01", "address": address, "status": "fail"}]

    for shown in (address, text):
        assert shown.isascii() and "@" not in shown and "<" not in shown and ">" not in shown
    refuse_unsafe(summary)  # never refused: the builders already made it safe
    refuse_unsafe(alerts.slack_message(summary))
    refuse_unsafe(alerts.teams_message(summary))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(value=ANY_TEXT)
def test_escaped_text_keeps_no_markup(value: str) -> None:
    assert not re.search(r"[<>]|&(?!amp;|lt;|gt;)", slack_text(value))
    cell = markdown_text(value)
    assert not re.search(r"(?<!\\)\|", cell) and "\n" not in cell and "<" not in cell
    assert "@" not in cell.replace("@\u2060", "")
    assert not re.search(r"[<>\"']", html_text(value))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.binary(max_size=300) | st.text(alphabet='[]{}":,0123456789 ', max_size=300))
def test_parse_json_raises_only_document_errors(data: bytes | str) -> None:
    try:
        value = parse_json(data)
    except DocumentError as exc:  # never RecursionError, UnicodeDecodeError or a bare one
        assert str(exc)
    else:
        check_nesting(value)  # what it returns is within the nesting limit
