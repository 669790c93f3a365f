"""The rule language: operators, quantifiers, missing data, refs, ordering."""

from __future__ import annotations

from typing import Any

import pytest

from hipaactl.config.model import AccountDesired, AllowedIntegration
from hipaactl.policy.evaluate import ConfigRefs, Mode, evaluate
from hipaactl.policy.model import Condition, Pack, Ref, ResourceView, RuleResult

from .builders import account_spec, config, pack, rule, view

NO_REFS = ConfigRefs(config(), require_login_for_recordings=True)


def run(
    packs: Pack | tuple[Pack, ...],
    *views: ResourceView,
    refs: ConfigRefs = NO_REFS,
    mode: Mode = "live",
    unread: frozenset[tuple[int | None, str]] = frozenset(),
) -> tuple[RuleResult, ...]:
    packs = packs if isinstance(packs, tuple) else (packs,)
    return evaluate(packs, views, refs, mode=mode, unread=unread)


def security_view(**values: Any) -> ResourceView:
    return view("agency.security", "agency.security", None, **values)


@pytest.mark.parametrize(
    ("op", "actual", "expected", "status"),
    [
        ("==", True, True, "pass"),
        ("==", 1, True, "fail"),  # booleans are not numbers
        ("==", "secure", "secure", "pass"),
        ("!=", "enhanced", "secure", "pass"),
        ("!=", "enhanced", "enhanced", "fail"),
        ("<", 14, 15, "pass"),
        ("<", 15, 15, "fail"),
        ("<=", 15, 15, "pass"),
        ("<=", 16, 15, "fail"),
        ("<=", "10", 15, "fail"),  # a string is never ordered against a number
        ("<=", True, 15, "fail"),
        (">", 2, 1, "pass"),
        (">=", 0, 1, "fail"),
        ("in", "every_login", ("every_login", "every_30_days"), "pass"),
        ("in", "off", ("every_login", "every_30_days"), "fail"),
        ("not_in", "lee", ("frontdesk",), "pass"),
        ("not_in", "frontdesk", ("frontdesk",), "fail"),
        ("contains_none", ("call_date", "duration"), ("caller_name",), "pass"),
        ("contains_none", ("call_date", "caller_name"), ("caller_name",), "fail"),
        ("contains_none", (), ("caller_name",), "pass"),
        ("matches", "every_login", "every_.*", "pass"),
        ("matches", "not_every_login", "every_.*", "fail"),  # the whole value must match
        ("matches", 15, "1.", "fail"),
    ],
)
def test_operators(op: str, actual: Any, expected: Any, status: str) -> None:
    check = Condition("idle_timeout_minutes", op, expected)  # type: ignore[arg-type]
    (result,) = run(pack(rule(check)), security_view(idle_timeout_minutes=actual))
    assert result.status == status, result.message


def test_failure_messages_name_value_and_bound() -> None:
    check = Condition("idle_timeout_minutes", "<=", 15)
    (result,) = run(pack(rule(check)), security_view(idle_timeout_minutes=60))
    assert result.message == "idle_timeout_minutes is 60 (must be <= 15)"


def test_contains_none_names_each_offending_field_once_sorted() -> None:
    check = Condition("fields", "contains_none", Ref("phi_fields"))
    phi_rule = rule(check, resource="notification")
    fields = ("transcription", "call_date", "caller_name", "transcription")
    (result,) = run(pack(phi_rule), view("notification", "n", 1, fields=fields))
    assert result.message == "fields include PHI: caller_name, transcription"


# -- quantifiers ---------------------------------------------------------------------

RECORDS = Condition("records", "==", True, quantifier="any", over="call_settings")
ALL_RECORD = Condition("records", "==", True, quantifier="all", over="call_settings")
ENCRYPTED = Condition("encrypted_recordings", "==", True)


def settings_view(account_id: int = 1, **values: Any) -> ResourceView:
    return view("settings", f"account[{account_id}].settings", account_id, **values)


def profile_view(profile_id: str, account_id: int = 1, **values: Any) -> ResourceView:
    address = f'account[{account_id}].call_settings["{profile_id}"]'
    return view("call_settings", address, account_id, **values)


def enc_pack(when: Condition = RECORDS) -> Pack:
    return pack(rule(ENCRYPTED, resource="settings", when=[when]))


def test_any_holds_when_one_profile_matches() -> None:
    views = (profile_view("A", records=False), profile_view("B", records=True))
    (result,) = run(enc_pack(), settings_view(encrypted_recordings=False), *views)
    assert result.status == "fail"


def test_any_over_no_resources_is_false() -> None:
    (result,) = run(enc_pack(), settings_view(encrypted_recordings=False))
    assert result.status == "not_applicable"
    assert result.message.startswith("not applicable: any call_settings with records == true")


def test_all_over_no_resources_is_true() -> None:
    (result,) = run(enc_pack(ALL_RECORD), settings_view(encrypted_recordings=False))
    assert result.status == "fail"


def test_all_fails_when_one_profile_does_not_match() -> None:
    views = (profile_view("A", records=True), profile_view("B", records=False))
    (result,) = run(enc_pack(ALL_RECORD), settings_view(encrypted_recordings=False), *views)
    assert result.status == "not_applicable"


def test_quantifier_stays_inside_the_account() -> None:
    other_account = profile_view("A", account_id=2, records=True)
    (result,) = run(enc_pack(), settings_view(encrypted_recordings=False), other_account)
    assert result.status == "not_applicable"  # account 1 has no recording profile


def test_quantifier_over_agency_security() -> None:
    login = Condition(
        "require_login_for_recordings", "==", False, quantifier="any", over="agency.security"
    )
    views = (
        settings_view(encrypted_recordings=False),
        security_view(require_login_for_recordings=False),
    )
    (result,) = run(enc_pack(login), *views)
    assert result.status == "fail"


def test_plain_when_false_is_not_applicable() -> None:
    enabled = Condition("enabled", "==", True)
    allowed = rule(Condition("name", "in", ("salesforce",)), resource="integration", when=[enabled])
    (result,) = run(pack(allowed), view("integration", "i", 1, name="hubspot", enabled=False))
    assert (result.status, result.message) == (
        "not_applicable",
        "not applicable: enabled == true does not hold",
    )


# -- missing data --------------------------------------------------------------------


def test_missing_check_field_is_an_error_naming_it_in_live_mode() -> None:
    (result,) = run(enc_pack(), settings_view(), profile_view("A", records=True))
    assert result.status == "error"
    assert "encrypted_recordings" in result.message


def test_missing_check_field_is_skipped_by_the_gate() -> None:
    assert run(enc_pack(), settings_view(), profile_view("A", records=True), mode="gate") == ()


def test_missing_when_field_is_an_error_unless_another_profile_decides() -> None:
    unknown = profile_view("A")  # records not known
    settings = settings_view(encrypted_recordings=False)
    (error,) = run(enc_pack(), settings, unknown)
    assert error.status == "error"
    assert "records" in error.message
    assert run(enc_pack(), settings, unknown, mode="gate") == ()
    (decided,) = run(enc_pack(), settings, unknown, profile_view("B", records=True))
    assert decided.status == "fail"


def test_false_when_beats_missing_data() -> None:
    not_recording = Condition("records", "==", True)
    profile_rule = rule(
        Condition("callerid_enabled", "==", False), resource="call_settings", when=[not_recording]
    )
    (result,) = run(pack(profile_rule), profile_view("A", records=False))
    assert result.status == "not_applicable"


def test_unread_collection_is_an_error_never_a_pass() -> None:
    unread = frozenset({(1, "call_settings"), (1, "settings")})
    results = run(enc_pack(), settings_view(2, encrypted_recordings=True), unread=unread)
    assert [(r.address, r.status) for r in results] == [
        ("account[1].settings", "error"),
        ("account[2].settings", "not_applicable"),
    ]
    assert run(enc_pack(), unread=unread, mode="gate") == ()


def test_quantifier_over_unread_collection_is_an_error() -> None:
    unread = frozenset({(1, "call_settings")})
    (result,) = run(enc_pack(), settings_view(encrypted_recordings=False), unread=unread)
    assert result.status == "error"
    assert result.message == "cannot evaluate: could not read account[1].call_settings"


def test_an_unread_collection_outweighs_an_unknown_field_in_the_error_kind() -> None:
    # ``when`` needs call_settings (not read) and the check a field the view lacks: one
    # failed read makes the result ``unread``, which no fact attestation may cover.
    two_unknowns = pack(rule(ENCRYPTED, resource="settings", when=[RECORDS, ENCRYPTED]))
    unread = frozenset({(1, "call_settings")})
    (result,) = run(two_unknowns, settings_view(), unread=unread)
    assert (result.status, result.error_kind) == ("error", "unread")
    (result,) = run(two_unknowns, settings_view(), profile_view("A", records=True))
    assert (result.status, result.error_kind) == ("error", "unexposed")


def test_unread_agency_security() -> None:
    check = Condition("idle_timeout_minutes", "<=", 15)
    (result,) = run(pack(rule(check)), unread=frozenset({(None, "agency.security")}))
    assert (result.address, result.status, result.error_kind) == (
        "agency.security",
        "error",
        "unread",
    )


# -- attestations --------------------------------------------------------------------


def test_failing_attestation_is_manual() -> None:
    baa = rule(Condition("current", "==", True), resource="attestation.baa")
    missing = view(
        "attestation.baa", "attestation.baa", None, present=False, current=False, max_age_days=365
    )
    (result,) = run(pack(baa), missing)
    assert result.status == "manual"
    assert "no [attestations.baa] in the config" in result.message


# -- refs ----------------------------------------------------------------------------


def phi_result(refs: ConfigRefs, *fields: str, account_id: int = 1001) -> RuleResult:
    check = Condition("fields", "contains_none", Ref("phi_fields"))
    phi_rule = rule(check, resource="notification")
    (result,) = run(pack(phi_rule), view("notification", "n", account_id, fields=fields), refs=refs)
    return result


def test_phi_fields_ref_adds_the_account_extra_fields() -> None:
    world = config(
        defaults=AccountDesired(extra_phi_fields=("insurance_id",)),
        accounts=(account_spec(1001, extra_phi_fields=("referral_source",)),),
    )
    refs = ConfigRefs(world, require_login_for_recordings=True)
    assert phi_result(refs, "referral_source").status == "fail"
    assert phi_result(refs, "referral_source", account_id=1002).status == "pass"
    assert phi_result(refs, "insurance_id", account_id=1002).status == "fail"


@pytest.mark.parametrize(("login", "status"), [(True, "pass"), (False, "fail"), (None, "fail")])
def test_phi_fields_ref_counts_recording_url_unless_login_is_required(
    login: bool | None, status: str
) -> None:
    refs = ConfigRefs(config(), require_login_for_recordings=login)
    assert phi_result(refs, "recording_url").status == status


def test_eligible_plans_ref_comes_from_the_rule_pack() -> None:
    plan_rule = rule(Condition("plan", "in", Ref("eligible_plans")), resource="plan")
    other = pack(
        rule(Condition("plan", "in", Ref("eligible_plans")), resource="plan", rule_id="O-01"),
        id="other",
        eligible_plans=("Contact Center",),
    )
    plan = view("plan", "account[1].plan", 1, plan="contact_center")
    results = {r.rule.id: r.status for r in run((pack(plan_rule), other), plan)}
    assert results == {"T-01": "fail", "O-01": "pass"}


def test_allowed_integrations_ref() -> None:
    world = config(
        integrations=(
            AllowedIntegration(name="Salesforce", baa=True),
            AllowedIntegration(name="HubSpot", baa=False),
        )
    )
    refs = ConfigRefs(world, require_login_for_recordings=True)
    allowed = rule(Condition("name", "in", Ref("allowed_integrations")), resource="integration")
    results = run(
        pack(allowed),
        view("integration", "a", 1, name="salesforce"),
        view("integration", "b", 1, name="hubspot"),
        view("integration", "c", 1, name="facebook"),
        refs=refs,
    )
    assert [r.status for r in results] == ["pass", "fail", "fail"]
    assert (
        results[1].message
        == 'name is "hubspot" (no BAA: hubspot is allowed in [integrations] with baa = false)'
    )
    assert results[2].message == (
        'name is "facebook" (must be one of the [integrations] allow list (baa = true): salesforce)'
    )


def test_shared_mailbox_ref_comes_from_the_pack() -> None:
    shared = rule(
        Condition("local_part", "not_in", Ref("shared_mailbox_local_parts")), resource="user"
    )
    results = run(
        pack(shared),
        view("user", "u1", 1, local_part="front.desk"),
        view("user", "u2", 1, local_part="reception"),  # not in the test pack's list
    )
    assert [r.status for r in results] == ["fail", "pass"]


def test_results_are_sorted_by_rule_id_then_address() -> None:
    check = Condition("local_part", "==", "x")
    rules = (
        rule(check, resource="user", rule_id="B-01"),
        rule(check, resource="user", rule_id="A-01"),
    )
    views = (view("user", "u[2]", 1, local_part="x"), view("user", "u[1]", 1, local_part="x"))
    results = run(pack(*rules), *views)
    assert [(r.rule.id, r.address) for r in results] == [
        ("A-01", "u[1]"),
        ("A-01", "u[2]"),
        ("B-01", "u[1]"),
        ("B-01", "u[2]"),
    ]
