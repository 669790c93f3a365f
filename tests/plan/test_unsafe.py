from __future__ import annotations

from typing import Any

import pytest

from hipaactl.model.changes import Change
from hipaactl.model.state import LiveState, User
from hipaactl.plan.unsafe import mark_unsafe, unsafe_reasons
from tests import builders as b

AID = 1001
SETTINGS = f"account[{AID}].settings"
PROFILE = f'account[{AID}].call_settings["CS1"]'


def agency_change(before: dict[str, Any], after: dict[str, Any]) -> Change:
    return Change("agency.security", "agency.security", "update", before, after)


def settings_change(before: dict[str, Any], after: dict[str, Any], aid: int = AID) -> Change:
    return Change(f"account[{aid}].settings", "settings", "update", before, after, account_id=aid)


def profile_change(before: dict[str, Any], after: dict[str, Any], aid: int = AID) -> Change:
    address = f'account[{aid}].call_settings["CS1"]'
    return Change(
        address, "call_settings", "update", before, after, account_id=aid, object_id="CS1"
    )


def user_address(email: str, aid: int = AID) -> str:
    return f'account[{aid}].user["{email.lower()}"]'


def user_values(email: str, role: str) -> dict[str, str]:
    return {"email": email, "first_name": "First", "last_name": "Last", "role": role}


def create_user(email: str, role: str = "agent") -> Change:
    return Change(
        user_address(email), "user", "create", None, user_values(email, role), account_id=AID
    )


def delete_user(email: str, role: str = "agent") -> Change:
    return Change(
        user_address(email), "user", "delete", user_values(email, role), None, account_id=AID
    )


def change_role(email: str, old: str, new: str) -> Change:
    return Change(
        user_address(email), "user", "update", {"role": old}, {"role": new}, account_id=AID
    )


def live_with(
    *,
    users: tuple[User, ...] = (),
    encrypted: bool = True,
    aid: int = AID,
) -> LiveState:
    account = b.account(
        aid,
        settings=b.settings(encrypted_recordings=encrypted, encrypted_recording_storage=encrypted),
        call_settings=(b.profile(),),
        users=users,
    )
    return b.live(account)


# --- one field at a time: (change, reasons), each unsafe case beside a safe counterpart --

FIELD_CASES: list[tuple[str, Change, tuple[str, ...]]] = [
    (
        "idle-timeout-longer",
        agency_change({"idle_timeout_minutes": 15}, {"idle_timeout_minutes": 60}),
        ("idle_timeout_minutes lengthened: 15 -> 60",),
    ),
    (
        "idle-timeout-shorter",
        agency_change({"idle_timeout_minutes": 60}, {"idle_timeout_minutes": 15}),
        (),
    ),
    (
        "2fa-off",
        agency_change({"two_factor": "every_login"}, {"two_factor": "off"}),
        ("two_factor weakened: every_login -> off",),
    ),
    (
        "2fa-30-days",
        agency_change({"two_factor": "every_login"}, {"two_factor": "every_30_days"}),
        ("two_factor weakened: every_login -> every_30_days",),
    ),
    (
        "2fa-30-days-to-off",
        agency_change({"two_factor": "every_30_days"}, {"two_factor": "off"}),
        ("two_factor weakened: every_30_days -> off",),
    ),
    (
        "2fa-stronger",
        agency_change({"two_factor": "off"}, {"two_factor": "every_30_days"}),
        (),
    ),
    (
        "login-for-recordings-off",
        agency_change(
            {"require_login_for_recordings": True}, {"require_login_for_recordings": False}
        ),
        ("require_login_for_recordings turned off",),
    ),
    (
        "login-for-recordings-on",
        agency_change(
            {"require_login_for_recordings": False}, {"require_login_for_recordings": True}
        ),
        (),
    ),
    (
        "missing-live-value-is-unknown",
        agency_change({"two_factor": None}, {"two_factor": "every_login"}),
        ('two_factor: live value unknown (missing) -> "every_login"',),
    ),
    (
        "unrecognised-live-value-is-unknown-even-when-tightening",
        agency_change({"idle_timeout_minutes": 15.0}, {"idle_timeout_minutes": 15}),
        ("idle_timeout_minutes: live value unknown (15.0) -> 15",),
    ),
    (
        "weekly-redaction-is-unknown",
        settings_change({"redaction_schedule": "weekly"}, {"redaction_schedule": "30_days"}),
        ('redaction_schedule: live value unknown ("weekly") -> "30_days"',),
    ),
    (
        "account-override-on",
        agency_change({"allow_account_override": False}, {"allow_account_override": True}),
        ("allow_account_override turned on (accounts may weaken the agency's security settings)",),
    ),
    (
        "email-mfa-on",
        agency_change({"allow_email_mfa": False}, {"allow_email_mfa": True}),
        ("allow_email_mfa turned on (email accepted as a second factor)",),
    ),
    (
        "email-mfa-off-is-safe",
        agency_change({"allow_email_mfa": True}, {"allow_email_mfa": False}),
        (),
    ),
    (
        "longer-link-expiry",
        agency_change({"recording_link_expiry_days": 7}, {"recording_link_expiry_days": 30}),
        ("recording_link_expiry_days lengthened: 7 -> 30",),
    ),
    (
        "link-expiry-disabled",
        agency_change({"recording_link_expiry_days": 7}, {"recording_link_expiry_days": 0}),
        ("recording_link_expiry_days disabled: 7 -> 0 (recording links never expire)",),
    ),
    (
        "link-expiry-turned-on-is-safe",
        agency_change({"recording_link_expiry_days": 0}, {"recording_link_expiry_days": 30}),
        (),
    ),
    (
        "several-agency-fields",
        agency_change(
            {"idle_timeout_minutes": 15, "two_factor": "every_login"},
            {"idle_timeout_minutes": 30, "two_factor": "off"},
        ),
        ("idle_timeout_minutes lengthened: 15 -> 30", "two_factor weakened: every_login -> off"),
    ),
    (
        "encrypted-recordings-off",
        settings_change({"encrypted_recordings": True}, {"encrypted_recordings": False}),
        ("encrypted_recordings turned off",),
    ),
    (
        "encrypted-storage-off",
        settings_change(
            {"encrypted_recording_storage": True}, {"encrypted_recording_storage": False}
        ),
        ("encrypted_recording_storage turned off",),
    ),
    (
        "encryption-on",
        settings_change(
            {"encrypted_recordings": False, "encrypted_recording_storage": False},
            {"encrypted_recordings": True, "encrypted_recording_storage": True},
        ),
        (),
    ),
    (
        "transcription-secure-to-standard",
        settings_change({"transcription_mode": "secure"}, {"transcription_mode": "standard"}),
        ("transcription_mode weakened: secure -> standard",),
    ),
    (
        "transcription-secure-to-enhanced",
        settings_change({"transcription_mode": "secure"}, {"transcription_mode": "enhanced"}),
        ("transcription_mode weakened: secure -> enhanced",),
    ),
    (
        "transcription-standard-to-enhanced",
        settings_change({"transcription_mode": "standard"}, {"transcription_mode": "enhanced"}),
        ("transcription_mode weakened: standard -> enhanced",),
    ),
    (
        "transcription-to-secure",
        settings_change({"transcription_mode": "enhanced"}, {"transcription_mode": "secure"}),
        (),
    ),
    (
        "transcription-enhanced-to-standard",
        settings_change({"transcription_mode": "enhanced"}, {"transcription_mode": "standard"}),
        (),
    ),
    (
        "redaction-daily-to-30-days",
        settings_change({"redaction_schedule": "daily"}, {"redaction_schedule": "30_days"}),
        ("redaction_schedule lengthened: daily -> 30_days",),
    ),
    (
        "redaction-90-days-to-manual",
        settings_change({"redaction_schedule": "90_days"}, {"redaction_schedule": "manual"}),
        ("redaction_schedule lengthened: 90_days -> manual",),
    ),
    (
        "redaction-manual-to-off",
        settings_change({"redaction_schedule": "manual"}, {"redaction_schedule": "off"}),
        ("redaction_schedule lengthened: manual -> off",),
    ),
    (
        "redaction-shorter",
        settings_change({"redaction_schedule": "off"}, {"redaction_schedule": "60_days"}),
        (),
    ),
    (
        "caller-id-on",
        profile_change({"callerid_enabled": False}, {"callerid_enabled": True}),
        ("callerid_enabled turned on (caller ID)",),
    ),
    (
        "enhanced-caller-id-on",
        profile_change({"premium_callerid_enabled": False}, {"premium_callerid_enabled": True}),
        ("premium_callerid_enabled turned on (enhanced caller ID)",),
    ),
    (
        "caller-id-off",
        profile_change(
            {"callerid_enabled": True, "premium_callerid_enabled": True},
            {"callerid_enabled": False, "premium_callerid_enabled": False},
        ),
        (),
    ),
    (
        "recording-on-while-encrypted",
        profile_change({"inbound_recordings_on": False}, {"inbound_recordings_on": True}),
        (),
    ),
    (
        "transcription-flag-is-not-guarded",
        profile_change({"transcription": False}, {"transcription": True}),
        (),
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [(change, expected) for _, change, expected in FIELD_CASES],
    ids=[case_id for case_id, _, _ in FIELD_CASES],
)
def test_field_changes(change: Change, expected: tuple[str, ...]) -> None:
    reasons = unsafe_reasons([change], live_with())
    assert reasons == ({change.address: expected} if expected else {})


# --- recording against the account's planned encryption --------------------------------

RECORDING_ON = profile_change(
    {"inbound_recordings_on": False, "outbound_recording_on": False},
    {"inbound_recordings_on": True, "outbound_recording_on": True},
)
RECORDING_CASES: list[tuple[str, bool, tuple[Change, ...], tuple[str, ...]]] = [
    (
        "live-encryption-off",
        False,
        (),
        (
            "inbound_recordings_on turned on while encrypted_recording_storage and "
            "encrypted_recordings are off after this plan",
            "outbound_recording_on turned on while encrypted_recording_storage and "
            "encrypted_recordings are off after this plan",
        ),
    ),
    (
        "plan-turns-encryption-on",
        False,
        (
            settings_change(
                {"encrypted_recordings": False, "encrypted_recording_storage": False},
                {"encrypted_recordings": True, "encrypted_recording_storage": True},
            ),
        ),
        (),
    ),
    (
        "plan-turns-only-one-flag-on",
        False,
        (settings_change({"encrypted_recordings": False}, {"encrypted_recordings": True}),),
        (
            "inbound_recordings_on turned on while encrypted_recording_storage is off "
            "after this plan",
            "outbound_recording_on turned on while encrypted_recording_storage is off "
            "after this plan",
        ),
    ),
    (
        "live-encryption-on",
        True,
        (),
        (),
    ),
    (
        "another-account-settings-do-not-count",
        False,
        (
            settings_change(
                {"encrypted_recordings": False, "encrypted_recording_storage": False},
                {"encrypted_recordings": True, "encrypted_recording_storage": True},
                aid=2002,
            ),
        ),
        (
            "inbound_recordings_on turned on while encrypted_recording_storage and "
            "encrypted_recordings are off after this plan",
            "outbound_recording_on turned on while encrypted_recording_storage and "
            "encrypted_recordings are off after this plan",
        ),
    ),
]


@pytest.mark.parametrize(
    ("encrypted", "others", "expected"),
    [(encrypted, others, expected) for _, encrypted, others, expected in RECORDING_CASES],
    ids=[case_id for case_id, *_ in RECORDING_CASES],
)
def test_recording_on_against_planned_encryption(
    encrypted: bool, others: tuple[Change, ...], expected: tuple[str, ...]
) -> None:
    reasons = unsafe_reasons([*others, RECORDING_ON], live_with(encrypted=encrypted))
    assert reasons.get(PROFILE, ()) == expected


def test_plan_turning_encryption_off_flags_recording_on_too() -> None:
    off = settings_change({"encrypted_recordings": True}, {"encrypted_recordings": False})
    reasons = unsafe_reasons([off, RECORDING_ON], live_with(encrypted=True))
    assert reasons[SETTINGS] == ("encrypted_recordings turned off",)
    assert reasons[PROFILE][0] == (
        "inbound_recordings_on turned on while encrypted_recordings is off after this plan"
    )


# --- users -----------------------------------------------------------------------------

ADMIN = b.user("boss@x.org", role="admin")
ADMIN2 = b.user("deputy@x.org", role="admin")
AGENTS = tuple(b.user(f"agent{i}@x.org") for i in range(9))
LAST_ADMIN_DELETED = f"last admin deleted: account[{AID}] would have no admin"

USER_CASES: list[tuple[str, tuple[User, ...], tuple[Change, ...], dict[str, tuple[str, ...]]]] = [
    (
        "delete-last-admin",
        (ADMIN, *AGENTS[:2]),
        (delete_user("boss@x.org", "admin"),),
        {user_address("boss@x.org"): (LAST_ADMIN_DELETED,)},
    ),
    (
        "demote-last-admin",
        (ADMIN, *AGENTS[:2]),
        (change_role("boss@x.org", "admin", "agent"),),
        {
            user_address("boss@x.org"): (
                f"last admin demoted: admin -> agent; account[{AID}] would have no admin",
            )
        },
    ),
    (
        "delete-both-admins",
        (ADMIN, ADMIN2, *AGENTS[:2]),
        (delete_user("boss@x.org", "admin"), delete_user("deputy@x.org", "admin")),
        {
            user_address("boss@x.org"): (LAST_ADMIN_DELETED,),
            user_address("deputy@x.org"): (LAST_ADMIN_DELETED,),
        },
    ),
    (
        "delete-one-of-two-admins",
        (ADMIN, ADMIN2, *AGENTS[:2]),
        (delete_user("deputy@x.org", "admin"),),
        {},
    ),
    (
        "create-admin-while-demoting-another",
        (ADMIN, *AGENTS[:2]),
        (create_user("new@x.org", "admin"), change_role("boss@x.org", "admin", "agent")),
        {},
    ),
    (
        "promote-agent-while-deleting-admin",
        (ADMIN, *AGENTS[:2]),
        (change_role("agent0@x.org", "agent", "admin"), delete_user("boss@x.org", "admin")),
        {'account[1001].user["agent0@x.org"]': ("user promoted: agent -> admin",)},
    ),
    (
        "promotion-to-an-agency-role",
        (ADMIN, *AGENTS[:2]),
        (change_role("agent0@x.org", "agent", "agency_billing_manager"),),
        {'account[1001].user["agent0@x.org"]': ("user promoted: agent -> agency_billing_manager",)},
    ),
    (
        "agency-admin-counts-as-the-last-admin",
        (b.user("boss@x.org", role="agency_admin"), *AGENTS[:2]),
        (delete_user("boss@x.org", "agency_admin"),),
        {
            'account[1001].user["boss@x.org"]': (
                "last admin deleted: account[1001] would have no admin",
            )
        },
    ),
    (
        "delete-a-user-with-an-unknown-role",
        (ADMIN, b.user("odd@x.org", role="owner"), *AGENTS[:2]),
        (delete_user("odd@x.org", "owner"),),
        {'account[1001].user["odd@x.org"]': ('user deleted: live role unknown ("owner")',)},
    ),
    (
        "demote-a-user-with-an-unknown-role",
        (ADMIN, b.user("odd@x.org", role="owner"), *AGENTS[:2]),
        (change_role("odd@x.org", "owner", "agent"),),
        {
            'account[1001].user["odd@x.org"]': (
                'user role changed to agent: live role unknown ("owner")',
            )
        },
    ),
    (
        "delete-an-agent",
        (ADMIN, *AGENTS[:2]),
        (delete_user("agent0@x.org"),),
        {},
    ),
    (
        "account-without-admin-is-not-the-plans-doing",
        AGENTS[:3],
        (delete_user("agent0@x.org"),),
        {},
    ),
    (
        "mixed-case-email-matches-live-user",
        (b.user("Boss@X.org", role="admin"), *AGENTS[:2]),
        (delete_user("Boss@X.org", "admin"),),
        {user_address("boss@x.org"): (LAST_ADMIN_DELETED,)},
    ),
    (
        "delete-all-users",
        AGENTS[:2],
        (delete_user("agent0@x.org"), delete_user("agent1@x.org")),
        {
            user_address("agent0@x.org"): (f"all users deleted: 2 of 2 users of account[{AID}]",),
            user_address("agent1@x.org"): (f"all users deleted: 2 of 2 users of account[{AID}]",),
        },
    ),
    (
        "delete-all-users-even-when-replacing-them",
        AGENTS[:1],
        (delete_user("agent0@x.org"), create_user("other@x.org")),
        {user_address("agent0@x.org"): (f"all users deleted: 1 of 1 users of account[{AID}]",)},
    ),
    (
        "delete-4-of-10",
        (ADMIN, *AGENTS),
        tuple(delete_user(f"agent{i}@x.org") for i in range(4)),
        {
            user_address(f"agent{i}@x.org"): (
                f"4 of 10 users of account[{AID}] deleted (more than 30%)",
            )
            for i in range(4)
        },
    ),
    (
        "delete-3-of-10-is-not-more-than-30-percent",
        (ADMIN, *AGENTS),
        tuple(delete_user(f"agent{i}@x.org") for i in range(3)),
        {},
    ),
    (
        "delete-2-of-3-in-a-small-account",
        (ADMIN, *AGENTS[:2]),
        (delete_user("agent0@x.org"), delete_user("agent1@x.org")),
        {},
    ),
]


@pytest.mark.parametrize(
    ("users", "changes", "expected"),
    [(users, changes, expected) for _, users, changes, expected in USER_CASES],
    ids=[case_id for case_id, *_ in USER_CASES],
)
def test_user_changes(
    users: tuple[User, ...], changes: tuple[Change, ...], expected: dict[str, tuple[str, ...]]
) -> None:
    assert unsafe_reasons(changes, live_with(users=users)) == expected


def test_deleting_everyone_including_the_last_admin_gives_both_reasons() -> None:
    users = (ADMIN, *AGENTS[:1])
    changes = (delete_user("boss@x.org", "admin"), delete_user("agent0@x.org"))
    reasons = unsafe_reasons(changes, live_with(users=users))
    assert reasons[user_address("boss@x.org")] == (
        LAST_ADMIN_DELETED,
        f"all users deleted: 2 of 2 users of account[{AID}]",
    )


def test_accounts_are_judged_separately() -> None:
    live = b.live(
        b.account(AID, users=(ADMIN, ADMIN2)),
        b.account(2002, users=(b.user("boss@y.org", role="admin"), b.user("a@y.org"))),
    )
    changes = (
        delete_user("boss@x.org", "admin"),
        Change(
            user_address("boss@y.org", 2002),
            "user",
            "delete",
            user_values("boss@y.org", "admin"),
            None,
            account_id=2002,
        ),
    )
    assert unsafe_reasons(changes, live) == {
        user_address("boss@y.org", 2002): ("last admin deleted: account[2002] would have no admin",)
    }


# --- the API ---------------------------------------------------------------------------


def test_reasons_are_keyed_by_address_in_order() -> None:
    changes = [
        settings_change({"encrypted_recordings": True}, {"encrypted_recordings": False}),
        agency_change({"two_factor": "every_login"}, {"two_factor": "off"}),
    ]
    assert list(unsafe_reasons(changes, live_with())) == [
        "account[1001].settings",
        "agency.security",
    ]


def test_mark_unsafe_fills_the_changes_in_order() -> None:
    weaken = agency_change({"two_factor": "every_login"}, {"two_factor": "off"})
    tighten = settings_change({"redaction_schedule": "off"}, {"redaction_schedule": "daily"})
    stale = Change(SETTINGS, "settings", "update", {}, {}, account_id=AID, unsafe=("old",))
    marked = mark_unsafe([weaken, tighten, stale], live_with())
    assert [c.address for c in marked] == [weaken.address, tighten.address, stale.address]
    assert marked[0].unsafe == ("two_factor weakened: every_login -> off",)
    assert marked[1].unsafe == ()
    assert marked[2].unsafe == ()


def test_nothing_planned_is_safe() -> None:
    assert unsafe_reasons([], live_with()) == {}
