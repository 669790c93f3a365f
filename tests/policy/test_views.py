"""What rules see of the declared config and of live state."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from hipaactl.config.model import (
    AccountDesired,
    AccountSelector,
    AgencySecurityDesired,
    Attestations,
    Exclusion,
    IndividualLoginsAttestation,
    UserDesired,
)
from hipaactl.live.scope import classify_accounts
from hipaactl.model.state import AccountState, LiveState, Unrecognized
from hipaactl.model.unread import ACCOUNT_LIST_ADDRESS, Unread
from hipaactl.policy.model import ResourceView
from hipaactl.policy.views import (
    FIELD_DOCS,
    RESOURCE_FIELDS,
    declared_views,
    live_views,
    placeholders,
    read_only_resource_kinds,
    unread_collections,
)
from tests.builders import webhook

from .builders import (
    TODAY,
    account,
    account_spec,
    attestations,
    builtin_packs,
    config,
    info,
    live,
    pack,
    security,
    settings,
    user,
)


def by_address(views: tuple[ResourceView, ...]) -> dict[str, ResourceView]:
    addresses = [v.address for v in views]
    assert len(addresses) == len(set(addresses)), "addresses must be unique"
    return {v.address: v for v in views}


# -- declared ------------------------------------------------------------------------


def test_declared_views_hold_only_declared_keys() -> None:
    world = config(
        agency_security=AgencySecurityDesired(idle_timeout_minutes=30),
        defaults=AccountDesired(recordings_encrypted=True, transcription="secure"),
        accounts=(
            account_spec(
                1001,
                recordings_enabled=True,
                recordings_encrypted=False,
                transcription="off",
                caller_id_enabled=False,
            ),
        ),
    )
    views = by_address(declared_views(world))
    assert dict(views["agency.security"].values) == {"idle_timeout_minutes": 30}
    assert dict(views["defaults.settings"].values) == {
        "encrypted_recordings": True,
        "transcription_mode": "secure",
    }
    assert dict(views["defaults.call_settings"].values) == {"transcription": True}
    assert views["defaults.settings"].account_id is None
    # transcription = "off": profiles stop transcribing, transcription_mode is left alone.
    assert dict(views["account[1001].settings"].values) == {"encrypted_recordings": False}
    profile = views['account[1001].call_settings["*"]']
    assert profile.account_id == 1001
    assert dict(profile.values) == {
        "inbound_recordings_on": True,
        "outbound_recording_on": True,
        "records": True,
        "transcription": False,
        "callerid_enabled": False,
    }


def test_declared_users_are_addressed_by_lowercased_email() -> None:
    lee = UserDesired(
        email="Dr.Lee@Clinic.example", first_name="Ada", last_name="Lee", role="admin"
    )
    world = config(accounts=(account_spec(1001, users=(lee,)),))
    views = by_address(declared_views(world))
    declared = views['account[1001].user["dr.lee@clinic.example"]']
    assert dict(declared.values) == {
        "email": "dr.lee@clinic.example",
        "local_part": "dr.lee",
        "role": "admin",
    }


# -- live ----------------------------------------------------------------------------


def live_world(state: LiveState, **config_overrides: object) -> dict[str, ResourceView]:
    world = config(**config_overrides)
    scope = classify_accounts(world, state.all_accounts)
    return by_address(live_views(world, state, scope, today=TODAY, packs=builtin_packs()))


def test_live_views_of_a_managed_account() -> None:
    views = live_world(live(account(plan="Marketing Pro")))
    assert dict(views["account[1001].plan"].values) == {"plan": "marketing_pro"}
    assert dict(views["account[1001]"].values) == {
        "classification": "managed",
        "user_count": 1,
        "admin_count": 1,
        "admins_over_limit": 0,
    }
    assert dict(views['account[1001].user["dr.lee@clinic.example"]'].values) == {
        "email": "dr.lee@clinic.example",
        "local_part": "dr.lee",
        "role": "admin",
        "status": "active",
    }
    assert views['account[1001].call_settings["CS1"]'].values["records"] is True
    assert views['account[1001].integration["I1"]'].values["name"] == "salesforce"
    assert set(views) >= {
        "agency.security",
        "attestation.baa",
        "attestation.individual_logins",
        "account[1001].settings",
        'account[1001].notification["N1"]',
        'account[1001].trigger["T1"]',
        'account[1001].number["TPN1"]',
    }


def test_every_view_field_is_in_the_field_table() -> None:
    views = live_world(live(account()))
    for found in views.values():
        fields = {k for k in found.values if not k.startswith("_")}  # evidence, not fields
        assert fields == RESOURCE_FIELDS[found.resource_type], found.address


def test_unreadable_fields_are_left_out() -> None:
    state = live(
        account(settings=settings(transcription_mode=None)),
        agency_security=security(two_factor=None),
    )
    views = live_world(state)
    assert "transcription_mode" not in views["account[1001].settings"].values
    assert "two_factor" not in views["agency.security"].values


def test_excluded_and_unclassified_accounts_get_only_their_classification() -> None:
    state = live(account(), others=(info(1999, name="Sandbox"), info(2000, name="Old")))
    selector = AccountSelector(include=(1001,), exclude=(Exclusion(reason="no PHI", id=1999),))
    views = live_world(state, selector=selector)
    assert views["account[1999]"].values["classification"] == "excluded"
    assert views["account[2000]"].values["classification"] == "unclassified"
    assert not any(a.startswith(("account[1999].", "account[2000].")) for a in views)


@pytest.mark.parametrize(
    ("confirmed_on", "max_age_days", "current"),
    [
        (dt.date(2025, 6, 1), None, True),  # exactly 365 days ago
        (dt.date(2025, 5, 31), None, False),
        (dt.date(2026, 3, 1), 60, False),  # [attestations] max_age_days shortens it
        (dt.date(2026, 4, 15), 60, True),
        (dt.date(2026, 6, 2), None, False),  # not yet: the loader refuses it, views too
    ],
)
def test_attestation_currency(
    confirmed_on: dt.date, max_age_days: int | None, current: bool
) -> None:
    logins = IndividualLoginsAttestation(confirmed_on=confirmed_on, by="compliance@clinic.example")
    chosen = replace(attestations(individual_logins=logins), max_age_days=max_age_days)
    views = live_world(live(), attestations=chosen)
    values = views["attestation.individual_logins"].values
    assert values["current"] is current
    assert values["present"] is True
    assert values["confirmed_on"] == confirmed_on.isoformat()


def test_missing_attestation() -> None:
    values = live_world(live(), attestations=Attestations()).get("attestation.baa")
    assert values is not None
    assert dict(values.values) == {"present": False, "current": False, "max_age_days": 365}


def test_pack_max_age_applies() -> None:
    world = config()
    state = live()
    scope = classify_accounts(world, state.all_accounts)
    short = pack(attestation_max_age_days=30)
    views = by_address(live_views(world, state, scope, today=TODAY, packs=(short,)))
    assert views["attestation.baa"].values["current"] is False  # confirmed 2026-01-15


def test_unread_collections() -> None:
    partial = AccountState(info=info(1001), settings=settings(), users=(user(),))
    state = LiveState(
        agency_security=None, all_accounts=(info(1001), info(1002)), accounts=(partial,)
    )
    scope = classify_accounts(config(), state.all_accounts)
    unread = unread_collections(state, scope)
    assert (None, "agency.security") in unread
    assert (1001, "settings") not in unread
    assert (1001, "call_settings") in unread
    assert {t for aid, t in unread if aid == 1002} == set(RESOURCE_FIELDS) & {
        "settings",
        "call_settings",
        "user",
        "notification",
        "trigger",
        "webhook",
        "number",
        "integration",
        "plan",
    } - {"plan"}  # the plan came with the account list


def test_read_only_kinds_follow_packs_and_integrations_table() -> None:
    current, old = builtin_packs("ctm-hipaa-current"), builtin_packs("ctm-hipaa-2018")
    assert read_only_resource_kinds(current, config()) == {
        "numbers", "integrations", "triggers", "webhooks", "plan"
    }  # fmt: skip
    assert read_only_resource_kinds(current, config(integrations=None)) == {
        "numbers", "triggers", "webhooks", "plan"
    }  # fmt: skip
    assert read_only_resource_kinds(old, config()) == {"triggers", "webhooks", "plan"}


def test_unrecognised_live_values_are_never_evaluated() -> None:
    state = live(
        account(settings=settings(redaction_schedule=Unrecognized("weekly"))),
        agency_security=security(idle_timeout_minutes=Unrecognized(15.0)),
    )
    views = live_world(state)
    assert "redaction_schedule" not in views["account[1001].settings"].values
    assert "idle_timeout_minutes" not in views["agency.security"].values


def test_trigger_placeholders_in_every_template_form() -> None:
    texts = ("Hi {{ Caller_Name }} and %caller_number%", "[tags] {not_one} %%", "[x.y]")
    assert placeholders(texts) == ("caller_name", "caller_number", "tags", "x.y")


def test_a_webhook_view_names_scheme_and_host_only() -> None:
    views = live_world(live(account(webhooks=(webhook("W9", "http"),))))
    assert dict(views['account[1001].webhook["W9"]'].values) == {
        "name": "Webhook W9",
        "scheme": "http",
        "host": "ehr.clinic.example",
        "https": False,
        "with_resource_url": False,
        "position": "end",
    }


def test_every_field_rules_can_check_is_documented() -> None:
    assert {t: set(f) for t, f in FIELD_DOCS.items()} == {
        t: set(f) for t, f in RESOURCE_FIELDS.items()
    }


def test_unread_collections_carry_the_reason_they_could_not_be_read() -> None:
    state = LiveState(
        agency_security=None,
        all_accounts=(info(1001), info(1002)),
        accounts=(AccountState(info=info(1001), settings=settings()), AccountState(info(1002))),
        unread=(
            Unread("agency.security", "HTTP 404", None, "agency.security"),
            Unread("account[1001].number", "HTTP 500", 1001, "number"),
            Unread("account[1002]", "HTTP 403", 1002),
        ),
    )
    unread = unread_collections(state, classify_accounts(config(), state.all_accounts))
    assert unread[(None, "agency.security")] == "HTTP 404"
    assert unread[(1001, "number")] == "HTTP 500"
    assert unread[(1001, "call_settings")] is None  # not read, no failure to name
    assert (1001, "settings") not in unread
    assert {why for (aid, _), why in unread.items() if aid == 1002} == {"HTTP 403"}


def test_an_unreadable_account_list_makes_every_account_resource_unread() -> None:
    state = LiveState(None, (), (), unread=(Unread(ACCOUNT_LIST_ADDRESS, "refused"),))
    unread = unread_collections(state, classify_accounts(config(), ()))
    assert unread[(None, "settings")] == "refused"
    assert unread[(None, "plan")] == "refused"
