from hipaactl.config.model import AccountDesired, AgencySecurityDesired
from hipaactl.model.state import LiveState
from hipaactl.plan.diff import changed_fields, diff_live
from tests import builders as b
from tests.packs import PHI_PACK


def plan_changes(config, live: LiveState):  # type: ignore[no-untyped-def]
    return diff_live(config, (PHI_PACK,), live)


def test_bool_is_not_int_in_changed_fields() -> None:
    assert changed_fields({"a": 1}, {"a": True}) == ["a"]
    assert changed_fields({"a": True, "b": 2}, {"a": True}) == []


def test_undeclared_keys_plan_nothing() -> None:
    live = b.live(
        b.account(settings=b.settings(encrypted_recordings=False)),
        agency_security=b.agency(idle_timeout_minutes=60),
    )
    assert plan_changes(b.config(), live) == ()


def test_agency_update_holds_only_changed_fields() -> None:
    live = b.live(agency_security=b.agency(idle_timeout_minutes=60))
    config = b.config(
        agency_security=AgencySecurityDesired(idle_timeout_minutes=15, two_factor="every_login")
    )
    (change,) = plan_changes(config, live)
    assert change.address == "agency.security"
    assert change.before == {"idle_timeout_minutes": 60}
    assert change.after == {"idle_timeout_minutes": 15}


def test_transcription_off_leaves_mode_alone_and_turns_profiles_off() -> None:
    live = b.live(
        b.account(
            settings=b.settings(transcription_mode="enhanced"),
            call_settings=(b.profile("CS1"), b.profile("CS2")),
        )
    )
    config = b.config(defaults=AccountDesired(transcription="off"))
    changes = plan_changes(config, live)
    assert [c.address for c in changes] == [
        'account[1001].call_settings["CS1"]',
        'account[1001].call_settings["CS2"]',
    ]
    assert all(c.after == {"transcription": False} for c in changes)


def test_transcription_mode_sets_settings_and_every_profile() -> None:
    live = b.live(
        b.account(
            settings=b.settings(transcription_mode="enhanced"),
            call_settings=(b.profile("CS1", transcription=False),),
        )
    )
    config = b.config(defaults=AccountDesired(transcription="secure"))
    by_address = {c.address: c for c in plan_changes(config, live)}
    assert by_address["account[1001].settings"].after == {"transcription_mode": "secure"}
    assert by_address['account[1001].call_settings["CS1"]'].after == {"transcription": True}


def test_account_override_wins_over_defaults() -> None:
    live = b.live(
        b.account(1001, settings=b.settings(redaction_schedule="off")),
        b.account(1002, settings=b.settings(redaction_schedule="off")),
    )
    config = b.config(
        defaults=AccountDesired(redaction="30_days"),
        accounts=((1002, AccountDesired(redaction="daily")),),
    )
    after = {c.address: c.after for c in plan_changes(config, live)}
    assert after == {
        "account[1001].settings": {"redaction_schedule": "30_days"},
        "account[1002].settings": {"redaction_schedule": "daily"},
    }


def test_notifications_lose_phi_and_keep_recording_url_only_with_login() -> None:
    fields = ("call_date", "caller_name", "recording_url", "transcription")
    live = b.live(
        b.account(
            notifications=(b.notification("N1", fields),),
            triggers=(b.trigger("T1", ("caller_zip",)),),  # read only: never planned
        ),
        agency_security=b.agency(require_login_for_recordings=False),
    )
    strip = AccountDesired(phi_fields="strip")
    without_login = {c.address: c for c in plan_changes(b.config(defaults=strip), live)}
    assert without_login['account[1001].notification["N1"]'].after == {"fields": ["call_date"]}
    assert not any(".trigger[" in address for address in without_login)

    config = b.config(
        defaults=strip, agency_security=AgencySecurityDesired(require_login_for_recordings=True)
    )
    with_login = {c.address: c for c in plan_changes(config, live)}
    change = with_login['account[1001].notification["N1"]']
    assert change.after == {"fields": ["call_date", "recording_url"]}
    assert change.depends_on == ("agency.security",)
    assert not any(".trigger[" in address for address in with_login)


def test_extra_phi_fields_are_stripped_too() -> None:
    live = b.live(b.account(notifications=(b.notification("N1", ("call_date", "utm_term")),)))
    config = b.config(defaults=AccountDesired(phi_fields="strip", extra_phi_fields=("utm_term",)))
    (change,) = plan_changes(config, live)
    assert change.after == {"fields": ["call_date"]}


def test_users_additive_create_and_update_match_case_insensitively() -> None:
    live = b.live(
        b.account(
            users=(
                b.user("Dr.Lee@Clinic.example", role="agent", user_id="7"),
                b.user("other@clinic.example"),
            )
        )
    )
    desired = AccountDesired(
        users=(
            b.desired_user("dr.lee@clinic.example", "admin"),
            b.desired_user("new@clinic.example"),
        )
    )
    changes = plan_changes(b.config(accounts=((1001, desired),)), live)
    assert [(c.action, c.address) for c in changes] == [
        ("update", 'account[1001].user["dr.lee@clinic.example"]'),
        ("create", 'account[1001].user["new@clinic.example"]'),
    ]
    assert changes[0].after == {"role": "admin"} and changes[0].object_id == "7"


def test_users_exact_deletes_undeclared() -> None:
    live = b.live(b.account(users=(b.user("a@x.org", "admin"), b.user("frontdesk@x.org"))))
    desired = AccountDesired(users=(b.desired_user("a@x.org", "admin"),), users_mode="exact")
    (change,) = plan_changes(b.config(accounts=((1001, desired),)), live)
    assert (change.action, change.address) == ("delete", 'account[1001].user["frontdesk@x.org"]')
    assert change.before is not None and change.before["email"] == "frontdesk@x.org"
