"""Alerts to a Microsoft Teams workflow webhook (``teams:URL``, SPEC section 8): an
Adaptive Card in the ``message`` envelope, with the same no-personal-data rules as every
alert, posted to a local receiver."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hipaactl.report.alerts import (
    ADAPTIVE_CARD_CONTENT_TYPE,
    ALERT_ITEMS_SHOWN,
    deliver,
    teams_message,
)
from tests.conftest import CliRunner
from tests.webhook import Receiver, receiving

SHARED_MAILBOX = re.compile(r"account\[1001\]\.user\[h:[0-9a-f]{12}\]")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


def card_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD_CONTENT_TYPE
    assert attachment["contentUrl"] is None
    card: dict[str, Any] = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    return card


def runs_of(card: dict[str, Any]) -> list[str]:
    """The plain text of every block, in order; Markdown-rendering blocks are refused."""
    texts = []
    for block in card["body"]:
        assert block["type"] in ("RichTextBlock", "FactSet"), block
        if block["type"] == "RichTextBlock":
            (inline,) = block["inlines"]
            assert inline["type"] == "TextRun"
            texts.append(inline["text"])
    return texts


def test_teams_target_gets_a_card_at_the_url_after_the_prefix() -> None:
    sent: list[tuple[str, Any]] = []
    summary = {
        "source": "hipaactl plan",
        "status": "drift",
        "counts": {"add": 1},
        "changes": [{"address": "agency.security", "action": "update"}],
        "run_url": "https://ci.example/run/7",
    }
    deliver("teams:https://hooks.example/x", summary, post=lambda u, b: sent.append((u, b)))
    assert sent == [("https://hooks.example/x", teams_message(summary))]
    card = card_of(sent[0][1])
    assert runs_of(card) == ["hipaactl plan: drift", "update agency.security"]
    assert card["body"][1] == {"type": "FactSet", "facts": [{"title": "add", "value": "1"}]}
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Run log", "url": "https://ci.example/run/7"}
    ]


def test_markdown_in_server_text_stays_plain_text() -> None:
    error = "could not read [x](https://evil.example) **now** <at>me</at>"
    card = card_of(
        teams_message({"source": "hipaactl check", "status": "error", "errors": [error]})
    )
    assert runs_of(card) == ["hipaactl check: error", f"error {error}"]
    assert "actions" not in card


def test_long_lists_are_cut_with_a_count() -> None:
    failed = [
        {"rule_id": "CTM-NUM-01", "address": f'account[1001].number["T{n}"]', "status": "fail"}
        for n in range(ALERT_ITEMS_SHOWN + 3)
    ]
    card = card_of(
        teams_message({"source": "hipaactl check", "status": "failed_rules", "failed": failed})
    )
    texts = runs_of(card)
    assert len(texts) == 1 + ALERT_ITEMS_SHOWN + 1
    assert texts[-1] == "… and 3 more"


def test_check_posts_a_card_without_personal_data(
    clinic: Path, cli: CliRunner, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIPAACTL_HASH_KEY", "test-key")
    monkeypatch.setenv("HIPAACTL_RUN_URL", "https://ci.example/run/1")
    result = cli("check", "--notify", f"teams:{receiver.url}")
    assert result.code == 3
    assert receiver.url not in result.out + result.err
    (message,) = receiver.bodies
    card = card_of(message)
    texts = runs_of(card)
    assert texts[0] == "hipaactl check: failed rules"
    assert "fail agency.security CTM-SEC-01" in texts
    assert any(SHARED_MAILBOX.search(t) and "CTM-LOGIN-02" in t for t in texts)
    assert "@" not in json.dumps(message)
    assert card["actions"][0]["url"] == "https://ci.example/run/1"


def test_plan_drift_posts_a_card_and_a_failed_post_keeps_the_exit_code(
    clinic: Path, cli: CliRunner, receiver: Receiver
) -> None:
    receiver.status = 400  # what a workflow answers a card it cannot take
    result = cli("plan", "--detailed-exitcode", "--notify", f"teams:{receiver.url}")
    assert result.code == 2
    assert "notification failed: the webhook answered HTTP 400" in result.err
    (message,) = receiver.bodies
    assert runs_of(card_of(message))[0] == "hipaactl plan: drift"
    assert "@" not in json.dumps(message)
