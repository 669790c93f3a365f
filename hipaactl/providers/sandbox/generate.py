"""Sandbox documents built in code: a compliant baseline and seeded synthetic agencies.

``generate_agency`` feeds ``hipaactl sandbox serve --accounts N`` (the benchmark): a
deterministic agency whose accounts mix compliant and non-compliant settings the way a
real agency drifts. ``compliant_security`` and ``compliant_account`` are its building
blocks, and double as builders for tests.

Objects have the shapes ``ctm-api-evidence.md`` shows (string user ids with an integer
``uid``, triggers as automators with routing rules, webhooks), plus fields hipaactl does
not read, as real replies carry them.
"""

from __future__ import annotations

import random
from typing import Any

from hipaactl.model.state import REDACTION_SCHEDULES, TRANSCRIPTION_MODES

# Chance that one generated setting is left as the checklist wants it.
COMPLIANT_SHARE = 0.7

PLACES = (
    "Downtown", "Uptown", "Eastside", "Westside", "Riverside", "Lakeview", "Hillcrest",
    "Northgate", "Southpark", "Harbor", "Maple Grove", "Cedar Ridge",
)  # fmt: skip
PRACTICES = (
    "Family Clinic", "Dental", "Physical Therapy", "Pediatrics", "Dermatology",
    "Orthopedics", "Behavioral Health", "Eye Care", "Urgent Care", "Chiropractic",
)  # fmt: skip
FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon")
LAST_NAMES = ("Lee", "Ortiz", "Nguyen", "Patel", "Smith", "Kowalski", "Haddad", "Kim", "Moreau")
ELIGIBLE_PLANS = ("Growth", "Connect", "Advanced", "Marketing Pro", "Sales Engage", "Enterprise")
INELIGIBLE_PLANS = ("Basic", "Starter")
SHARED_MAILBOXES = ("frontdesk", "reception", "office", "info")
SAFE_FIELDS = ("call_start", "duration", "tracking_number", "source", "call_status")
PHI_FIELDS = (
    "caller_name", "caller_number", "caller_email", "transcription", "recording_url",
    "call_notes", "tags",
)  # fmt: skip
NOTIFICATION_KINDS = ("email", "sms", "export", "webhook")
TRIGGER_ACTIONS = ("send_email", "send_sms", "webhook", "tag_call")
GENERATED_ROLES = ("admin", "call_manager", "report_manager", "agent")
INTEGRATIONS = ("salesforce", "hubspot", "facebook", "google_ads", "slack")
PROFILE_NAMES = ("Main line", "After hours", "Scheduling", "Billing")


def compliant_security() -> dict[str, Any]:
    """Agency security settings that pass the built-in packs."""
    return {"idle_timeout_minutes": 15, "two_factor": "every_login",
            "require_login_for_recordings": True, "allow_account_override": False,
            "allow_email_mfa": False, "recording_link_expiry_days": 7,
            "session_notice": None}  # fmt: skip


def compliant_settings() -> dict[str, Any]:
    """Account settings that pass the built-in packs."""
    return {"encrypted_recordings": True, "encrypted_recording_storage": True,
            "transcription_mode": "secure", "redaction_schedule": "30_days",
            "support_access_until": None}  # fmt: skip


def compliant_profile(profile_id: str, name: str = "Main line") -> dict[str, Any]:
    """A call settings profile that passes the built-in packs."""
    return {"id": profile_id, "name": name, "inbound_recordings_on": True,
            "outbound_recording_on": True, "transcription": True, "callerid_enabled": False,
            "premium_callerid_enabled": False, "voicemail_enabled": True,
            "record_message": None}  # fmt: skip


def compliant_account(account_id: int, name: str, plan: str = "Advanced") -> dict[str, Any]:
    """One account that meets every API-visible item of the current checklist."""
    domain = _domain(name)
    return {
        "id": account_id,
        "name": name,
        "status": "active",
        "plan": plan,
        "user_role": "agency_admin",
        "agency_id": 1000,
        "created": "2024-01-15T10:00:00Z",
        "updated": "2026-10-01T10:00:00Z",
        "canceled": None,
        "settings": compliant_settings(),
        "call_settings": [compliant_profile(f"CS{account_id}-1")],
        "users": [_user(account_id * 100 + 1, f"ada.lee@{domain}", "Ada", "Lee", "admin")],
        "numbers": [_number(f"TPN{account_id}-1", account_id, 1, True)],
        "triggers": [
            trigger(
                f"T{account_id}-1",
                "Post-call follow-up",
                "send_email",
                "Call from {{source}} at {{call_start}}",
            )
        ],
        "webhooks": [webhook(f"W{account_id}-1", "Call log to EHR", f"https://hooks.{domain}/ctm")],
        "notifications": [_hook("N", account_id, 1, "Daily summary", "email", SAFE_FIELDS[:2])],
        "integrations": [],
    }


def trigger(trigger_id: str, name: str, action: str, message: str) -> dict[str, Any]:
    """An automator of CTM's shape: routing rules with conditions and actions."""
    return {
        "id": trigger_id,
        "name": name,
        "description": "",
        "position": 1,
        "delay_seconds": 0,
        "routing_rules": [
            {
                "conditions": [{"type": "call_status", "operator": "is", "value": "answered"}],
                "actions": [{"type": action, "message": message, "to": "office@clinic.example"}],
            }
        ],
    }


def webhook(webhook_id: str, name: str, weburl: str) -> dict[str, Any]:
    """A webhook of CTM's shape, with the receiver's basic-auth pair hipaactl drops."""
    return {
        "id": webhook_id,
        "name": name,
        "weburl": weburl,
        "with_resource_url": False,
        "position": "end",
        "hooktype": "call",
        "username": "ctm-hook",
        "password": "sandbox-receiver-secret",
    }


def generate_agency(accounts: int, *, seed: int) -> dict[str, Any]:
    """A deterministic agency of ``accounts`` accounts (ids from 1001) for ``seed``."""
    rng = random.Random(seed)
    names: set[str] = set()
    generated = []
    for position in range(accounts):
        account_id = 1001 + position
        name = f"{rng.choice(PLACES)} {rng.choice(PRACTICES)}"
        if name in names:
            name = f"{name} {account_id}"
        names.add(name)
        generated.append(_generated_account(rng, account_id, name))
    return {"agency": {"security": _generated_security(rng)}, "accounts": generated}


def _generated_security(rng: random.Random) -> dict[str, Any]:
    security = compliant_security()
    if not _complies(rng):
        security["idle_timeout_minutes"] = rng.choice((30, 60, 240))
    if not _complies(rng):
        security["two_factor"] = "off"
    if not _complies(rng):
        security["require_login_for_recordings"] = False
    return security


def _generated_account(rng: random.Random, account_id: int, name: str) -> dict[str, Any]:
    account = compliant_account(account_id, name, _plan(rng))
    account["settings"] = _generated_settings(rng)
    account["call_settings"] = [
        _generated_profile(rng, f"CS{account_id}-{k}", PROFILE_NAMES[k - 1])
        for k in range(1, rng.randint(2, 3) + 1)
    ]
    account["users"] = _generated_users(rng, account_id, _domain(name))
    account["numbers"] = [
        _number(f"TPN{account_id}-{k}", account_id, k, _complies(rng))
        for k in range(1, rng.randint(2, 3) + 1)
    ]
    account["notifications"] = [
        _hook("N", account_id, k, f"Notification {k}", rng.choice(NOTIFICATION_KINDS),
              _generated_fields(rng))
        for k in range(1, rng.randint(1, 2) + 1)
    ]  # fmt: skip
    account["triggers"] = [
        trigger(f"T{account_id}-{k}", f"Trigger {k}", rng.choice(TRIGGER_ACTIONS),
                " ".join(f"{{{{{f}}}}}" for f in _generated_fields(rng)))
        for k in range(1, rng.randint(1, 2) + 1)
    ]  # fmt: skip
    # From a generator of its own, so agencies drawn before webhooks existed stay the same.
    scheme = "https" if _complies(random.Random(account_id)) else "http"
    account["webhooks"] = [
        webhook(f"W{account_id}-1", "Call log", f"{scheme}://hooks.{_domain(name)}/ctm")
    ]
    account["integrations"] = [
        {"id": f"I{account_id}-{k}", "name": integration, "enabled": rng.random() < 0.8}
        for k, integration in enumerate(rng.sample(INTEGRATIONS, rng.randint(0, 2)), start=1)
    ]
    return account


def _generated_settings(rng: random.Random) -> dict[str, Any]:
    settings = compliant_settings()
    if not _complies(rng):
        settings["encrypted_recordings"] = False
    if not _complies(rng):
        settings["encrypted_recording_storage"] = False
    if not _complies(rng):
        settings["transcription_mode"] = rng.choice(TRANSCRIPTION_MODES)
    if not _complies(rng):
        settings["redaction_schedule"] = rng.choice(REDACTION_SCHEDULES)
    return settings


def _generated_profile(rng: random.Random, profile_id: str, name: str) -> dict[str, Any]:
    profile = compliant_profile(profile_id, name)
    profile["outbound_recording_on"] = rng.random() < 0.5
    profile["transcription"] = rng.random() < 0.6
    profile["callerid_enabled"] = not _complies(rng)
    profile["premium_callerid_enabled"] = not _complies(rng)
    return profile


def _generated_users(rng: random.Random, account_id: int, domain: str) -> list[dict[str, Any]]:
    users = []
    emails: set[str] = set()
    for k in range(1, rng.randint(3, 6) + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@{domain}".lower()
        if email in emails:
            email = f"{first}.{last}{k}@{domain}".lower()
        emails.add(email)
        role = "admin" if k == 1 else rng.choice(GENERATED_ROLES)
        users.append(_user(account_id * 100 + k, email, first, last, role))
    if not _complies(rng):
        mailbox = rng.choice(SHARED_MAILBOXES)
        users[-1].update(email=f"{mailbox}@{domain}", first_name="Front", last_name="Desk")
    return users


def _generated_fields(rng: random.Random) -> tuple[str, ...]:
    fields = list(rng.sample(SAFE_FIELDS, rng.randint(1, 3)))
    if not _complies(rng):
        fields += rng.sample(PHI_FIELDS, rng.randint(1, 3))
    return tuple(fields)


def _plan(rng: random.Random) -> str:
    return rng.choice(ELIGIBLE_PLANS if _complies(rng) else INELIGIBLE_PLANS)


def _complies(rng: random.Random) -> bool:
    return rng.random() < COMPLIANT_SHARE


def _domain(name: str) -> str:
    return "-".join(name.lower().split()) + ".example"


def _user(uid: int, email: str, first: str, last: str, role: str) -> dict[str, Any]:
    """A user of CTM's shape: a string ``id``, an integer ``uid`` and fields hipaactl
    does not read."""
    return {"id": f"USR{uid:06d}", "uid": uid, "email": email, "first_name": first,
            "last_name": last, "role": role, "status": "active",
            "recording_access_settings": {"status": "login_required", "voicemail_only": False,
                                          "password_protected": False},
            "notifications": {"email_notify_on_missed_calls": False}}  # fmt: skip


def _number(number_id: str, account_id: int, k: int, eligible: bool) -> dict[str, Any]:
    return {"id": number_id, "number": f"+1555{account_id % 10000:04d}{k:03d}",
            "name": f"Tracking line {k}", "hipaa_eligible": eligible}  # fmt: skip


def _hook(
    prefix: str, account_id: int, k: int, name: str, kind: str, fields: tuple[str, ...]
) -> dict[str, Any]:
    """A notification (``N``) or trigger (``T``): both carry the fields they send."""
    return {"id": f"{prefix}{account_id}-{k}", "name": name, "kind": kind, "fields": list(fields)}
