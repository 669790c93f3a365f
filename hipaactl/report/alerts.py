"""Drift alerts: a compact summary posted to a webhook, with no personal data.

A plain URL receives the JSON summary; ``slack:URL`` receives a Slack message and
``teams:URL`` an Adaptive Card for a Microsoft Teams workflow webhook, both built from
the same summary and the same lines (``alert_lines``). User addresses are pseudonymised
as ``account[1001].user[h:<12 hex>]``, an HMAC-SHA-256 of the lowercased email keyed by
``$HIPAACTL_HASH_KEY`` (plain SHA-256, with a warning, when the key is unset), and any
other email in a message is replaced the same way. The URL is a secret of sorts (Slack
and Teams webhooks are): it is never printed.

Alerts are built so that no outside text can carry a name, a mention or markup into
them (SPEC section 9): an object id that is not a plain ASCII token is replaced by its
hash like an email, free text (error messages) keeps only plain printable ASCII with
quoted values hashed, every value placed in a Slack message goes through
``escape.slack_text``, and every value in a Teams card is a plain-text ``TextRun``. A
last guard, ``refuse_unsafe``, runs on the exact payload about to be posted, for every
format: one holding ``@`` or a control character is refused. Posts do not follow
redirects and have a total deadline (``ALERT_DEADLINE_SECONDS``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hipaactl import __version__
from hipaactl.errors import HipaactlError
from hipaactl.model.scrub import scrub_data
from hipaactl.plan.planfile import Plan
from hipaactl.report.escape import slack_text

if TYPE_CHECKING:
    from hipaactl.report.check import Report

SUMMARY_FORMAT_VERSION = "1"
NOTIFY_URL_VARIABLE = "HIPAACTL_NOTIFY_URL"
HASH_KEY_VARIABLE = "HIPAACTL_HASH_KEY"
RUN_URL_VARIABLE = "HIPAACTL_RUN_URL"
SLACK_PREFIX = "slack:"
TEAMS_PREFIX = "teams:"
# Adaptive Card 1.4: what Teams renders on desktop, web and mobile alike.
ADAPTIVE_CARD_VERSION = "1.4"
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ALERT_ITEMS_SHOWN = 20
TIMEOUT_SECONDS = (5.0, 10.0)  # (connect, read) socket timeouts
ALERT_DEADLINE_SECONDS = 10.0  # SPEC section 8/9: connect, send and reply together
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_USER_ADDRESS = re.compile(r'user\["(?P<email>(?:[^"\\]|\\.)*)"\]')
# Any quoted id in an address: ``number["TPN1001"]``.
_QUOTED_ID = re.compile(r'\["(?P<id>(?:[^"\\]|\\.)*)"\]')
# Ids shown as they are: short ASCII tokens. Anything else (a name used as an id, markup,
# non-ASCII text) is shown as its hash.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# What free text keeps: printable ASCII without "@", markup or mention characters.
_UNSAFE_TEXT_CHAR = re.compile(r"[^A-Za-z0-9 .,:;()\[\]/_=+#%'\"-]")
# Quoted values in free text, except the ids of addresses (``["TPN1"]``), already handled.
_QUOTED_TEXT = re.compile(r'(?<!\[)"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_NON_ASCII_WORD = re.compile(r"\S*[^\x00-\x7f]\S*")
# ``ProviderError`` text is "ENDPOINT HTTP 400: <the server's reason>".
_SERVER_REASON = re.compile(r"(?P<status>\bHTTP [0-9]{3}): .*$")
_TEXT_MAX_CHARS = 300
_UNSAFE_PAYLOAD_CHAR = re.compile(r"[@\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SAFE_RUN_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#=%+,;!$*()-]+")

Poster = Callable[[str, Mapping[str, Any]], None]


class NotifyError(HipaactlError):
    """The alert could not be delivered; never changes the command's exit code."""


@dataclass(frozen=True)
class Pseudonymizer:
    key: bytes | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Pseudonymizer:
        """A pseudonymizer keyed by ``$HIPAACTL_HASH_KEY``, unkeyed when it is unset or empty."""
        key = environ.get(HASH_KEY_VARIABLE)
        return cls(key.encode("utf-8") if key else None)

    @property
    def warning(self) -> str | None:
        """The warning to show when no key is set (plain hashes can be matched), else None."""
        if self.key is not None:
            return None
        return (
            f"{HASH_KEY_VARIABLE} is not set: user addresses in the alert are plain SHA-256 "
            "hashes, which anyone can match against a list of emails; set a secret key"
        )

    def token(self, email: str) -> str:
        """``h:`` and 12 hex digits of HMAC-SHA-256 (plain SHA-256 without a key) of the
        lower-cased email (SPEC section 8).
        """
        data = email.lower().encode("utf-8")
        if self.key is None:
            digest = hashlib.sha256(data).hexdigest()
        else:
            digest = hmac.new(self.key, data, hashlib.sha256).hexdigest()
        return f"h:{digest[:12]}"

    def address(self, address: str) -> str:
        """An address fit for an alert: a user's email hashed, and any other quoted id
        that is not a short ASCII token (a name, markup, non-ASCII text) hashed too."""
        users = _USER_ADDRESS.sub(lambda m: f"user[{self.token(m['email'])}]", address)
        return _QUOTED_ID.sub(self._id, users)

    def text(self, text: str) -> str:
        """Free text (an error message) fit for an alert: its first line, without the
        server's reason (what follows ``HTTP <status>:``, which can quote anything),
        emails, quoted values and words holding non-ASCII text hashed, and only plain
        printable ASCII kept (anything else becomes ``?``), in at most 300 characters."""
        first = (text.strip().splitlines() or [""])[0]
        first = _SERVER_REASON.sub(r"\g<status> (reason left out of alerts)", first)
        hashed = _EMAIL.sub(lambda m: self.token(m.group(0)), self.address(first))
        hashed = _QUOTED_TEXT.sub(lambda m: self.token(m.group(0)[1:-1]), hashed)
        hashed = _NON_ASCII_WORD.sub(lambda m: self.token(m.group(0)), hashed)
        flat = " ".join(hashed.split())
        plain = _UNSAFE_TEXT_CHAR.sub("?", flat)
        if len(plain) > _TEXT_MAX_CHARS:
            plain = plain[: _TEXT_MAX_CHARS - 3] + "..."
        return plain

    def _id(self, match: re.Match[str]) -> str:
        raw = match["id"].replace('\\"', '"').replace("\\\\", "\\")
        if _PLAIN_ID.fullmatch(raw):
            return f'["{raw}"]'
        return f"[{self.token(raw)}]"


def notify_target(option: str | None, environ: Mapping[str, str]) -> str | None:
    """Where to send the alert: ``--notify``, else ``$HIPAACTL_NOTIFY_URL``; None for neither."""
    return option or environ.get(NOTIFY_URL_VARIABLE) or None


def webhook_url(target: str) -> str:
    """The URL a target posts to: without its ``slack:`` or ``teams:`` prefix."""
    for prefix in (SLACK_PREFIX, TEAMS_PREFIX):
        if target.startswith(prefix):
            return target[len(prefix) :]
    return target


def url_warning(target: str) -> str | None:
    """A warning for an alert URL that sends the summary unencrypted, else None. The
    URL itself is never quoted (webhook URLs hold secrets)."""
    url = webhook_url(target)
    if url.lower().startswith("http://"):
        return (
            "the alert URL uses plain http://: the summary travels unencrypted and can be "
            "read or changed on the way; use an https:// URL"
        )
    return None


def run_url(environ: Mapping[str, str]) -> str | None:
    """``$HIPAACTL_RUN_URL`` when it is a plain http(s) URL with no ``@`` or markup;
    None otherwise (a link that cannot be shown safely is left out)."""
    value = (environ.get(RUN_URL_VARIABLE) or "").strip()
    return value if _SAFE_RUN_URL.fullmatch(value) else None


def _envelope(source: str, environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        "format_version": SUMMARY_FORMAT_VERSION,
        "source": source,
        "hipaactl_version": __version__,
        "run_url": run_url(environ),
    }


def plan_summary(
    plan: Plan, pseudonyms: Pseudonymizer, environ: Mapping[str, str]
) -> dict[str, Any] | None:
    """The alert for a plan, or None when there is nothing to say (no changes, no
    manual actions)."""
    if not plan.changes and not plan.manual_actions:
        return None
    return {
        **_envelope("hipaactl plan", environ),
        "status": "drift" if plan.changes else "manual_actions",
        "counts": plan.summary(),
        "unsafe": plan.unsafe,
        "changes": [
            {"address": pseudonyms.address(c.address), "action": c.action} for c in plan.changes
        ],
        "manual_actions": [
            {"address": pseudonyms.address(m.address), "rule_ids": list(m.rule_ids)}
            for m in plan.manual_actions
        ],
    }


def check_summary(
    report: Report, pseudonyms: Pseudonymizer, environ: Mapping[str, str]
) -> dict[str, Any] | None:
    """The alert for a compliance report, or None when no rule failed, waits for an
    attestation or could not be evaluated. Waived results are reported, not alerted.
    Result messages stay out: they may quote a user's mailbox name."""
    flagged = [
        r
        for r in report.results
        if r.status not in ("pass", "attested", "not_applicable") and not r.waived
    ]
    if not flagged:
        return None
    errors = [r for r in flagged if r.status == "error"]
    return {
        **_envelope("hipaactl check", environ),
        "status": "error" if errors else "failed_rules",
        "exit_code": report.exit_code,
        "conclusion": report.conclusion,
        "counts": report.summary(),
        "failed": [
            {
                "rule_id": r.rule.id,
                "address": pseudonyms.address(r.address),
                "status": r.status,
                "enforcement": r.rule.enforcement,
            }
            for r in flagged
            if r.status != "error"
        ],
        "errors": [pseudonyms.text(f"{r.rule.id} {r.address}: {r.message}") for r in errors],
    }


def error_summary(
    source: str, message: str, pseudonyms: Pseudonymizer, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The alert body for a run that failed with ``message`` (emails pseudonymized)."""
    return {**_envelope(source, environ), "status": "error", "errors": [pseudonyms.text(message)]}


@dataclass(frozen=True)
class AlertLine:
    """One line of a chat alert: ``label`` (an action or status, "error", or "more"),
    the pseudonymised ``address`` when there is one, and ``detail`` (rule ids, an
    error message, or how many lines were left out)."""

    label: str
    address: str | None
    detail: str


def alert_lines(summary: Mapping[str, Any]) -> list[AlertLine]:
    """The lines every chat format shows for a summary: at most ``ALERT_ITEMS_SHOWN``
    changes, manual actions and failed rules each, then every error."""
    lines = []
    for key in ("changes", "manual_actions", "failed"):
        items: Sequence[Mapping[str, Any]] = summary.get(key) or ()
        for item in items[:ALERT_ITEMS_SHOWN]:
            rules = ", ".join(item.get("rule_ids", ()) or [item.get("rule_id", "")])
            label = item.get("action") or item.get("status") or key.rstrip("s")
            lines.append(AlertLine(str(label), str(item["address"]), rules))
        if len(items) > ALERT_ITEMS_SHOWN:
            lines.append(AlertLine("more", None, f"… and {len(items) - ALERT_ITEMS_SHOWN} more"))
    lines.extend(AlertLine("error", None, str(e)) for e in summary.get("errors", ()))
    return lines


def _headline(summary: Mapping[str, Any]) -> str:
    return f"{summary['source']}: {summary['status'].replace('_', ' ')}"


def slack_message(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary as a Slack incoming-webhook message ``{"text": ...}``: status, counts,
    at most 20 items per list, errors and the run link; every value escaped with
    ``slack_text``."""
    esc = slack_text
    status = str(summary["status"]).replace("_", " ")
    lines = [f"*{esc(str(summary['source']))}*: {esc(status)}"]
    counts = summary.get("counts")
    if counts:
        lines.append(", ".join(f"{value} {esc(str(name))}" for name, value in counts.items()))
    for line in alert_lines(summary):
        if line.label == "more":
            lines.append(esc(line.detail))
        elif line.address is None:
            lines.append(f"• {esc(line.label)}: {esc(line.detail)}")
        else:
            lines.append(f"• {esc(line.label)} `{esc(line.address)}` {esc(line.detail)}")
    if summary.get("run_url"):
        lines.append(f"<{esc(str(summary['run_url']))}|run log>")
    return {"text": "\n".join(line.strip() for line in lines)}


def refuse_unsafe(payload: Mapping[str, Any]) -> None:
    """The last guard before any alert is posted, whatever its format: raise
    ``NotifyError`` when the payload's JSON holds ``@`` (a mention, or an email the
    builders missed) or a control character. The message does not quote the payload."""
    # Every string the receiver will decode, keys included (JSON escapes would hide a
    # control character from a search of the encoded text).
    text = "\n".join(_strings(payload)).replace("\n", " ")
    found = _UNSAFE_PAYLOAD_CHAR.search(text)
    if found is not None:
        what = "'@'" if found.group(0) == "@" else "a control character"
        raise NotifyError(
            f"notification refused: the alert would contain {what}, which alerts never "
            "carry (mentions, personal data); nothing was posted"
        )


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif item is not None:
            yield json.dumps(item)


def teams_message(summary: Mapping[str, Any]) -> dict[str, Any]:
    """An Adaptive Card in the envelope a Teams workflow webhook ("When a Teams webhook
    request is received") accepts: a ``message`` with one card attachment (Microsoft
    Teams docs, "Create and send messages"; workflows take Adaptive Cards only).

    Every value from the summary goes into a ``TextRun`` of a ``RichTextBlock``, which
    Teams shows as plain text (no Markdown), so no address or error can format or link
    anything; counts go into a ``FactSet``; the run log is an ``Action.OpenUrl``.
    """
    body: list[dict[str, Any]] = [_text_run(_headline(summary), weight="Bolder", size="Medium")]
    counts = summary.get("counts")
    if counts:
        facts = [{"title": str(name), "value": str(value)} for name, value in counts.items()]
        body.append({"type": "FactSet", "facts": facts})
    for line in alert_lines(summary):
        parts = [line.label, line.address, line.detail] if line.label != "more" else [line.detail]
        body.append(_text_run(" ".join(p for p in parts if p)))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if summary.get("run_url"):
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Run log", "url": summary["run_url"]}
        ]
    return {
        "type": "message",
        "attachments": [
            {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
        ],
    }


def _text_run(text: str, **style: str) -> dict[str, Any]:
    return {
        "type": "RichTextBlock",
        "inlines": [{"type": "TextRun", "text": text, **style}],
    }


def _post_json(url: str, body: Mapping[str, Any]) -> None:
    """POST ``body`` as JSON: no redirects followed, a total deadline of
    ``ALERT_DEADLINE_SECONDS`` (headers included), the reply body never read."""
    import requests

    from hipaactl.providers.limits import WatchedAdapter, timeouts_within, watched

    deadline = ALERT_DEADLINE_SECONDS
    late = f"notification failed: no reply within {deadline:g} s"
    with requests.Session() as session:
        session.mount("http://", WatchedAdapter())
        session.mount("https://", WatchedAdapter())
        with watched(deadline) as expired:
            try:
                reply = session.post(
                    url,
                    json=body,
                    timeout=timeouts_within(TIMEOUT_SECONDS, deadline),
                    allow_redirects=False,  # the summary goes only where it was told to go
                    stream=True,
                )
                reply.close()
            except requests.RequestException as exc:
                if expired():
                    raise NotifyError(late) from None
                # The exception text holds the URL: name only its type.
                raise NotifyError(f"notification failed: {type(exc).__name__}") from None
            if expired():  # the watchdog cut the reply short: its status proves nothing
                raise NotifyError(late)
    status = reply.status_code
    if 300 <= status < 400:
        raise NotifyError(
            f"notification failed: the webhook answered with a redirect (HTTP {status}), "
            "which hipaactl does not follow; use the URL it points to"
        )
    if not 200 <= status < 300:
        raise NotifyError(f"notification failed: the webhook answered HTTP {status}")


def deliver(target: str, summary: Mapping[str, Any], *, post: Poster = _post_json) -> None:
    """POST ``summary`` to ``target``: ``slack:URL`` as a Slack message, ``teams:URL`` as
    a Teams card, else the JSON itself (SPEC section 8), every string in it scrubbed of the
    credentials first (SPEC section 9), after ``refuse_unsafe``. The default poster follows
    no redirects, has a total deadline of 10 seconds, and raises ``NotifyError`` on a
    transport failure or a non-2xx reply; ``NotifyError`` too when the payload is refused."""
    summary = scrub_data(dict(summary))
    url = webhook_url(target)
    if target.startswith(SLACK_PREFIX):
        payload = slack_message(summary)
    elif target.startswith(TEAMS_PREFIX):
        payload = teams_message(summary)
    else:
        payload = dict(summary)
    if not url.lower().startswith(("https://", "http://")):
        raise NotifyError("notification failed: the alert URL must start with https://")
    refuse_unsafe(payload)
    post(url, payload)


def failed_rules_summary(
    source: str,
    failures: Sequence[tuple[str, str]],
    pseudonyms: Pseudonymizer,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """The alert for failed rules: ``failures`` are (rule id, address) pairs."""
    return {
        **_envelope(source, environ),
        "status": "failed_rules",
        "failed": [
            {"rule_id": rule_id, "address": pseudonyms.address(address)}
            for rule_id, address in failures
        ],
    }
