"""Drift alerts: a compact summary posted to a webhook, with no personal data.

A plain URL receives the JSON summary; ``slack:URL`` receives a Slack message built
from it. User addresses are pseudonymised as ``account[1001].user[h:<12 hex>]``, an
HMAC-SHA-256 of the lowercased email keyed by ``$HIPAACTL_HASH_KEY`` (plain SHA-256,
with a warning, when the key is unset), and any other email in a message is replaced the
same way. The URL is a secret of sorts (Slack webhooks are): it is never printed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hipaactl import __version__
from hipaactl.errors import HipaactlError
from hipaactl.plan.planfile import Plan

if TYPE_CHECKING:
    from hipaactl.report.check import Report

SUMMARY_FORMAT_VERSION = "1"
NOTIFY_URL_VARIABLE = "HIPAACTL_NOTIFY_URL"
HASH_KEY_VARIABLE = "HIPAACTL_HASH_KEY"
RUN_URL_VARIABLE = "HIPAACTL_RUN_URL"
SLACK_PREFIX = "slack:"
TIMEOUT_SECONDS = 10.0
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_USER_ADDRESS = re.compile(r'user\["(?P<email>(?:[^"\\]|\\.)*)"\]')

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
        """``address`` with each ``user["email"]`` replaced by ``user[<token>]``."""
        return _USER_ADDRESS.sub(lambda m: f"user[{self.token(m['email'])}]", address)

    def text(self, text: str) -> str:
        """``text`` with user addresses and any other email replaced by tokens."""
        return _EMAIL.sub(lambda m: self.token(m.group(0)), self.address(text))


def notify_target(option: str | None, environ: Mapping[str, str]) -> str | None:
    """Where to send the alert: ``--notify``, else ``$HIPAACTL_NOTIFY_URL``; None for neither."""
    return option or environ.get(NOTIFY_URL_VARIABLE) or None


def _envelope(source: str, environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        "format_version": SUMMARY_FORMAT_VERSION,
        "source": source,
        "hipaactl_version": __version__,
        "run_url": environ.get(RUN_URL_VARIABLE),
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
    flagged = [r for r in report.results if r.status != "pass" and not r.waived]
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


def slack_message(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary as a Slack incoming-webhook message ``{"text": ...}``: status, counts,
    at most 20 items per list, errors and the run link.
    """
    lines = [f"*{summary['source']}*: {summary['status'].replace('_', ' ')}"]
    counts = summary.get("counts")
    if counts:
        lines.append(", ".join(f"{value} {name}" for name, value in counts.items()))
    for key in ("changes", "manual_actions", "failed"):
        items: Sequence[Mapping[str, Any]] = summary.get(key) or ()
        for item in items[:20]:
            rules = ", ".join(item.get("rule_ids", ()) or [item.get("rule_id", "")])
            label = item.get("action") or item.get("status") or key.rstrip("s")
            lines.append(f"• {label} `{item['address']}` {rules}")
        if len(items) > 20:
            lines.append(f"… and {len(items) - 20} more")
    lines.extend(f"• error: {e}" for e in summary.get("errors", ()))
    if summary.get("run_url"):
        lines.append(f"<{summary['run_url']}|run log>")
    return {"text": "\n".join(line.strip() for line in lines)}


def _post_json(url: str, body: Mapping[str, Any]) -> None:
    import requests

    try:
        reply = requests.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        # The exception text holds the URL: name only its type.
        raise NotifyError(f"notification failed: {type(exc).__name__}") from None
    if not 200 <= reply.status_code < 300:
        raise NotifyError(f"notification failed: the webhook answered HTTP {reply.status_code}")


def deliver(target: str, summary: Mapping[str, Any], *, post: Poster = _post_json) -> None:
    """POST ``summary`` to ``target``: ``slack:URL`` as a Slack message, else the JSON itself
    (SPEC section 8). The default poster waits up to 10 seconds and raises NotifyError on a
    transport failure or a non-2xx reply.
    """
    if target.startswith(SLACK_PREFIX):
        post(target[len(SLACK_PREFIX) :], slack_message(summary))
    else:
        post(target, summary)


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
