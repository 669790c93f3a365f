"""The import renderer: live state in, a desired-state file out that declares exactly it."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipaactl.config.load import load_config
from hipaactl.config.model import AccountDesired, AccountSelector, Config, Exclusion
from hipaactl.model.state import (
    REDACTION_SCHEDULES,
    ROLES,
    TRANSCRIPTION_MODES,
    TWO_FACTOR_MODES,
    AccountState,
    AgencySecurity,
    Unrecognized,
)
from hipaactl.plan.desired import (
    CALL_SETTINGS_KEYS,
    SETTINGS_KEYS,
    call_settings_values,
    settings_values,
)
from hipaactl.plan.diff import diff_live
from hipaactl.plan.importer import (
    Document,
    ImportSource,
    build_document,
    render_document,
    violation_warnings,
    violations_by_key,
)
from hipaactl.policy.gate import evaluate_gate
from hipaactl.policy.packs import load_packs
from tests import builders as b
from tests.packs import PHI_PACK

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

TODAY = dt.date(2026, 3, 1)


def source(
    *accounts: AccountState,
    agency: AgencySecurity | None = None,
    config: Config | None = None,
    out_dir: Path = Path("/tmp"),
) -> ImportSource:
    return ImportSource(
        config=config or b.config(),
        packs=(),
        agency=agency or b.agency(),
        accounts=accounts,
        out_dir=out_dir,
        today=TODAY,
    )


def render(src: ImportSource) -> str:
    return render_document(build_document(src))


def load_rendered(text: str, folder: Path) -> Config:
    path = folder / "imported.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, today=TODAY, check_files=False)


def lines_after(text: str, line: str) -> list[str]:
    lines = text.splitlines()
    return lines[lines.index(line) + 1 :]


# -- profiles that disagree ---------------------------------------------------------------


def test_key_where_profiles_disagree_is_left_out_with_a_comment() -> None:
    profiles = (b.profile("CS1"), b.profile("CS2", transcription=False))
    document = build_document(
        source(b.account(1001, settings=b.settings(), call_settings=profiles))
    )
    text = render_document(document)
    assert "# transcription left out: profiles disagree (CS1 on, CS2 off)" in text
    assert "transcription = " not in text
    assert document.notes == (
        "account[#0] (account 1001): transcription left out: profiles disagree (CS1 on, CS2 off)",
    )


def test_recordings_enabled_needs_inbound_and_outbound_to_agree_in_every_profile() -> None:
    profiles = (b.profile("CS1", outbound_recording_on=False),)
    text = render(source(b.account(1001, settings=b.settings(), call_settings=profiles)))
    assert (
        "# recordings.enabled left out: profiles disagree "
        "(CS1 inbound_recordings_on on/outbound_recording_on off)"
    ) in text
    recordings = lines_after(text, "[account.recordings]")
    assert recordings[:2] == ["encrypted = true", "encrypted_storage = true"]


def test_transcription_is_the_live_mode_when_every_profile_transcribes_and_off_when_none() -> None:
    on = b.account(
        1001, settings=b.settings(transcription_mode="enhanced"), call_settings=(b.profile(),)
    )
    off = b.account(
        1002,
        settings=b.settings(transcription_mode="enhanced"),
        call_settings=(
            b.profile("CS1", transcription=False),
            b.profile("CS2", transcription=False),
        ),
    )
    text = render(source(on, off))
    assert lines_after(text, "id = 1001")[0] == 'transcription = "enhanced"'
    assert lines_after(text, "id = 1002")[0] == 'transcription = "off"'


def test_unreadable_fields_and_missing_profiles_are_left_out_with_the_reason() -> None:
    state = b.account(
        1001,
        settings=b.settings(redaction_schedule=None, transcription_mode=None),
        call_settings=(),
    )
    text = render(source(state, agency=b.agency(two_factor=None)))
    assert "# two_factor left out: it could not be read" in text
    assert "# redaction left out: redaction_schedule: it could not be read" in text
    for key in ("recordings.enabled", "transcription", "caller_id.enabled", "caller_id.enhanced"):
        assert f"# {key} left out: the account has no call-settings profiles" in text
    assert "[account.caller_id]" not in text


def test_transcribing_profiles_without_a_readable_mode_leave_transcription_out() -> None:
    state = b.account(
        1001, settings=b.settings(transcription_mode=None), call_settings=(b.profile(),)
    )
    text = render(source(state))
    assert "# transcription left out: transcription_mode could not be read" in text
    assert "transcription = " not in text


# -- round trip: the generated file declares exactly the live values ------------------------

_STATE = dict(
    agency=st.builds(
        AgencySecurity,
        idle_timeout_minutes=st.integers(1, 1440),
        two_factor=st.sampled_from(TWO_FACTOR_MODES),
        require_login_for_recordings=st.booleans(),
        allow_account_override=st.booleans(),
        allow_email_mfa=st.booleans(),
        recording_link_expiry_days=st.integers(1, 30),
    ),
    settings=st.builds(
        b.settings,
        encrypted_recordings=st.booleans(),
        encrypted_recording_storage=st.booleans(),
        transcription_mode=st.sampled_from(TRANSCRIPTION_MODES),
        redaction_schedule=st.sampled_from(REDACTION_SCHEDULES),
    ),
)


@st.composite
def accounts(draw: st.DrawFn, account_id: int) -> AccountState:
    """Every profile alike (inbound and outbound agreeing), so every key can be written."""
    flags = draw(st.fixed_dictionaries({f: st.booleans() for f in CALL_SETTINGS_KEYS}))
    flags["outbound_recording_on"] = flags["inbound_recordings_on"]
    count = draw(st.integers(1, 3))
    profiles = tuple(b.profile(f"CS{account_id}{n}", **flags) for n in range(count))
    emails = draw(
        st.lists(st.sampled_from(["a", "B", "frontdesk", "d.e"]), unique=True, max_size=3)
    )
    users = tuple(
        b.user(f"{name}@{account_id}.example", role=draw(st.sampled_from(ROLES)), first_name=name)
        for name in emails
    )
    return b.account(
        account_id, settings=draw(_STATE["settings"]), call_settings=profiles, users=users
    )


def _declared_values(config: Config, state: AccountState) -> dict[str, Any]:
    spec = config.spec_for(state.id)
    assert spec is not None
    return {
        "settings": settings_values(spec.desired),
        "profile": call_settings_values(spec.desired),
        "users": sorted((u.email, u.first_name, u.last_name, u.role) for u in spec.desired.users),
    }


def _live_values(state: AccountState) -> dict[str, Any]:
    assert state.settings is not None and state.call_settings and state.users is not None
    profile = state.call_settings[0]
    transcribes = profile.transcription
    settings: dict[str, Any] = {
        "encrypted_recordings": state.settings.encrypted_recordings,
        "encrypted_recording_storage": state.settings.encrypted_recording_storage,
        "redaction_schedule": state.settings.redaction_schedule,
    }
    if transcribes:
        settings["transcription_mode"] = state.settings.transcription_mode
    return {
        "settings": settings,
        "profile": {f: getattr(profile, f) for f in CALL_SETTINGS_KEYS},
        "users": sorted((u.email, u.first_name, u.last_name, u.role) for u in state.users),
    }


@settings(max_examples=30, deadline=None, derandomize=True)
@given(agency=_STATE["agency"], first=accounts(1001), second=accounts(1002))
def test_round_trip_declares_exactly_the_live_values(
    tmp_path_factory: pytest.TempPathFactory,
    agency: AgencySecurity,
    first: AccountState,
    second: AccountState,
) -> None:
    live = b.live(second, first, agency_security=agency)
    text = render(source(*live.accounts, agency=agency))
    config = load_rendered(text, tmp_path_factory.mktemp("import"))

    assert config.agency_security.idle_timeout_minutes == agency.idle_timeout_minutes
    assert config.agency_security.two_factor == agency.two_factor
    assert (
        config.agency_security.require_login_for_recordings == agency.require_login_for_recordings
    )
    assert [spec.id for spec in config.accounts] == [1001, 1002]
    for state in (first, second):
        assert _declared_values(config, state) == _live_values(state)
        desired = config.spec_for(state.id)
        assert desired is not None and desired.desired.phi_fields is None
    assert diff_live(config, (PHI_PACK,), live) == ()


def test_inverse_tables_agree_with_the_forward_mapping() -> None:
    """Declaring a key alone yields exactly the live fields the inverse table maps to it."""
    samples: dict[str, Any] = {"transcription": "secure", "redaction": "daily"}
    for forward, inverse in (
        (settings_values, SETTINGS_KEYS),
        (call_settings_values, CALL_SETTINGS_KEYS),
    ):
        for key in set(inverse.values()):
            desired = AccountDesired(**{key.replace(".", "_"): samples.get(key, True)})
            assert set(forward(desired)) == {f for f, k in inverse.items() if k == key}


# -- the carried-over sections and paths ----------------------------------------------------


def test_seed_audit_and_pack_paths_are_relative_to_the_new_file(tmp_path: Path) -> None:
    config = b.config(
        path=tmp_path / "hipaa.toml", policies=("ctm-hipaa-current", "packs/extra.toml")
    )
    config = replace(
        config,
        provider=replace(config.provider, seed=tmp_path / "sandbox" / "agency.json"),
        audit_path=tmp_path / "logs" / "audit.jsonl",
    )
    pack = replace(PHI_PACK, source_path="packs/extra.toml")
    src = replace(source(config=config, out_dir=tmp_path / "out"), packs=(pack,))
    text = render(src)
    document = tomllib.loads(text)
    assert document["provider"] == {"kind": "sandbox", "seed": "../sandbox/agency.json"}
    assert document["policies"] == ["ctm-hipaa-current", "../packs/extra.toml"]
    assert document["audit"] == {"path": "../logs/audit.jsonl"}
    assert text.startswith(
        "# Generated by hipaactl import on 2026-03-01 from ../hipaa.toml\n"
        "# and the live state of its sandbox provider (0 accounts).\n"
    )


def test_default_audit_path_is_not_written() -> None:
    assert "[audit]" not in render(source())


def test_exclusion_of_an_imported_account_is_dropped_with_a_comment() -> None:
    config = b.config()
    selector = AccountSelector(
        include=("*",),
        exclude=(Exclusion(reason="marketing", id=1999), Exclusion(reason="tests", name="Test*")),
    )
    src = source(b.account(1999), config=replace(config, selector=selector))
    document = build_document(src)
    text = render_document(document)
    assert "# exclusion id = 1999 dropped: account 1999 is imported" in text
    assert tomllib.loads(text)["accounts"]["exclude"] == [{"name": "Test*", "reason": "tests"}]
    assert (
        "accounts.exclude: exclusion id = 1999 dropped: account 1999 is imported" in document.notes
    )


def test_no_accounts_table_when_the_config_has_none() -> None:
    config = b.config(include=None)
    assert "accounts" not in tomllib.loads(render(source(config=config)))


# -- determinism and safety of comments ---------------------------------------------------


def test_output_is_sorted_and_does_not_depend_on_read_order() -> None:
    users = (b.user("zed@x.org"), b.user("Amy@x.org"), b.user("bob@x.org"))
    first = b.account(
        1002, settings=b.settings(), call_settings=(b.profile("CS2"), b.profile("CS1")), users=users
    )
    second = b.account(1001, settings=b.settings(), call_settings=(b.profile(),))
    text = render(source(first, second))
    reversed_text = render(source(second, replace(first, users=users[::-1])))
    assert text == reversed_text
    document = tomllib.loads(text)
    assert [a["id"] for a in document["account"]] == [1001, 1002]
    assert [u["email"] for u in document["account"][1]["user"]] == [
        "Amy@x.org",
        "bob@x.org",
        "zed@x.org",
    ]


def test_live_text_in_comments_stays_on_one_line() -> None:
    state = b.account(1001)
    state = replace(state, info=replace(state.info, name="Evil\nidle_timeout_minutes = 999"))
    text = render(source(state))
    assert "# Evil idle_timeout_minutes = 999 (plan: advanced, status: active)" in text
    assert "idle_timeout_minutes" not in tomllib.loads(text).get("account", [{}])[0]


def test_inactive_users_are_written_with_their_status_as_a_comment() -> None:
    state = b.account(1001, users=(b.user("a@x.org", status="invited"),))
    text = render(source(state))
    assert lines_after(text, "# status in CTM: invited")[:2] == [
        "[[account.user]]",
        'email = "a@x.org"',
    ]


# -- the gate's verdict as comments ------------------------------------------------------


def _with_violations(src: ImportSource, folder: Path) -> tuple[Document, str, list[str]]:
    document = build_document(src)
    config = load_rendered(render_document(document), folder)
    packs = load_packs(("ctm-hipaa-current",), base_dir=folder)
    gate = evaluate_gate(config, packs, today=TODAY)
    violations, unplaced = violations_by_key(document, gate.results)
    assert unplaced == []
    text = render_document(document, violations)
    return document, text, violation_warnings(document, violations, "imported.toml")


def test_failing_values_get_a_violates_comment_above_them_and_a_warning(tmp_path: Path) -> None:
    state = b.account(
        1001,
        settings=b.settings(encrypted_recording_storage=False),
        call_settings=(b.profile(),),
        users=(b.user("frontdesk@clinic.example"),),
    )
    _, text, warnings = _with_violations(
        source(state, agency=b.agency(idle_timeout_minutes=60)), tmp_path
    )
    lines = text.splitlines()
    for comment_start, line in (
        (
            "# violates CTM-SEC-01 (mandatory): idle_timeout_minutes is 60",
            "idle_timeout_minutes = 60",
        ),
        (
            "# violates CTM-ENC-02 (mandatory): encrypted_recording_storage is false",
            "encrypted_storage = false",
        ),
        (
            '# violates CTM-LOGIN-02 (advisory): local_part is "frontdesk"',
            'email = "frontdesk@clinic.example"',
        ),
    ):
        above = lines[lines.index(line) - 1]
        assert above.startswith(comment_start)
    assert sum("# violates" in line for line in lines) == 3
    assert warnings[0].startswith(
        "imported.toml: agency.security.idle_timeout_minutes = 60 violates CTM-SEC-01 (mandatory)"
    )
    assert warnings[1].startswith(
        "imported.toml: account[#0].recordings.encrypted_storage (account 1001) = false "
        "violates CTM-ENC-02 (mandatory)"
    )
    assert len(warnings) == 3


def test_compliant_live_state_has_no_violations(tmp_path: Path) -> None:
    state = b.account(
        1001, settings=b.settings(), call_settings=(b.profile(),), users=(b.user("a@x.org"),)
    )
    _, text, warnings = _with_violations(source(state), tmp_path)
    assert "# violates" not in text
    assert warnings == []


def test_live_values_the_config_cannot_express_are_left_out_saying_what_they_were() -> None:
    state = b.account(
        1001,
        settings=b.settings(redaction_schedule=Unrecognized("weekly")),
        users=(b.user("odd@clinic.example", role="owner"), b.user("ok@clinic.example")),
    )
    agency = b.agency(idle_timeout_minutes=Unrecognized(15.0), recording_link_expiry_days=0)
    text = render(source(state, agency=agency))
    assert "# idle_timeout_minutes left out: the live value 15.0 is not one the config" in text
    assert "# recording_link_expiry_days left out: the live value is 0" in text
    assert '# redaction left out: redaction_schedule: the live value "weekly"' in text
    assert '# user odd@clinic.example left out: its live role "owner"' in text
    assert 'email = "ok@clinic.example"' in text and 'odd@clinic.example"\n' not in text
