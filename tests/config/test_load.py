from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from hipaactl.config.keys import SECRET_KEY_PATTERN
from hipaactl.config.load import load_config, load_config_issues
from hipaactl.config.model import (
    AccountDesired,
    AccountSelector,
    AccountSpec,
    AgencySecurityDesired,
    AllowedIntegration,
    Attestations,
    BaaAttestation,
    Exclusion,
    IndividualLoginsAttestation,
    Override,
    ProviderSettings,
    UserDesired,
)
from hipaactl.errors import ConfigError

HERE = Path(__file__).parent
BROKEN = sorted((HERE / "broken").glob("*.toml"))
SPEC_EXAMPLE = HERE / "valid" / "spec_example.toml"
CLINIC_EXAMPLE = HERE.parents[1] / "examples" / "clinic" / "hipaa.toml"
TODAY = dt.date(2026, 2, 1)
HEAD = 'version = 1\npolicies = ["ctm-hipaa-current"]\n'

# Words that would mean pydantic or Python internals leaked into a user-facing message.
LEAKS = ("Traceback", "pydantic", "errors.pydantic.dev", "Input should", "For further information")
ASSIGNED_STRING = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*"([^"]+)"')


@dataclass
class Expectation:
    keys: set[str] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)
    line: int | None = None
    column: int | None = None


def read_expectation(path: Path) -> Expectation:
    """The ``# expect...`` comments that open each broken file. A file whose problem is
    the file itself (syntax, encoding) declares no ``expect:`` key: its issue has key ""."""
    expectation = Expectation()
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        name, _, value = line.removeprefix("# ").partition(": ")
        if not line.startswith("# expect"):
            break
        if name == "expect":
            expectation.keys.add(value)
        elif name == "expect-message":
            expectation.messages.append(value)
        elif name == "expect-line":
            expectation.line = int(value)
        elif name == "expect-column":
            expectation.column = int(value)
    return expectation


def write_config(directory: Path, body: str, *, head: str = HEAD) -> Path:
    path = directory / "hipaa.toml"
    path.write_text(head + body, encoding="utf-8")
    return path


def load_text(directory: Path, body: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(directory, body), today=TODAY)
    return caught.value


def spec_example(directory: Path) -> Path:
    path = directory / "hipaa.toml"
    shutil.copyfile(SPEC_EXAMPLE, path)
    (directory / "sandbox").mkdir()
    (directory / "sandbox" / "agency.json").write_text("{}\n", encoding="utf-8")
    return path


# -- the broken corpus ------------------------------------------------------------------


def test_corpus_is_large_enough() -> None:
    assert len(BROKEN) >= 25


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_config_is_refused_with_located_issues(path: Path) -> None:
    expectation = read_expectation(path)
    with pytest.raises(ConfigError) as caught:
        load_config(path, today=TODAY)
    error = caught.value
    text = str(error)

    assert {i.key for i in error.issues} == (expectation.keys or {""})
    assert all(i.file == str(path) for i in error.issues)
    assert path.name in text
    for message in expectation.messages:
        assert message in text
    if expectation.line is not None:
        assert expectation.line in {i.line for i in error.issues}
    if expectation.column is not None:
        assert expectation.column in {i.column for i in error.issues}
    for leak in LEAKS:
        assert leak not in text


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_config_never_echoes_a_credential(path: Path) -> None:
    _, issues = load_config_issues(path, today=TODAY)
    text = "\n".join(i.render() for i in issues)
    source = path.read_bytes().decode("utf-8", errors="replace")
    secrets = [v for k, v in ASSIGNED_STRING.findall(source) if SECRET_KEY_PATTERN.search(k)]
    for secret in secrets:
        assert secret not in text


def test_corpus_covers_credentials() -> None:
    source = (HERE / "broken" / "secret_key.toml").read_text(encoding="utf-8")
    assert 'secret_key = "s3cr3t-value"' in source
    _, issues = load_config_issues(HERE / "broken" / "secret_key.toml", today=TODAY)
    assert [i.key for i in issues] == ["provider.secret_key"]
    assert "s3cr3t-value" not in issues[0].message


def test_several_issues_come_sorted_by_line() -> None:
    _, issues = load_config_issues(HERE / "broken" / "many_issues.toml", today=TODAY)
    lines = [i.line or 0 for i in issues]
    assert len(issues) == 7
    assert lines == sorted(lines)


# -- reading the file -------------------------------------------------------------------


def test_missing_file_is_one_clear_issue(tmp_path: Path) -> None:
    _, issues = load_config_issues(tmp_path / "nope.toml")
    assert len(issues) == 1
    assert "file not found" in issues[0].message
    assert issues[0].file == str(tmp_path / "nope.toml")


def test_directory_is_one_clear_issue(tmp_path: Path) -> None:
    _, issues = load_config_issues(tmp_path)
    assert [i.message.split(";")[0] for i in issues] == ["is a directory"]


def test_empty_file_asks_for_version_and_policies(tmp_path: Path) -> None:
    path = tmp_path / "hipaa.toml"
    path.write_bytes(b"")
    _, issues = load_config_issues(path)
    assert [(i.key, i.message) for i in issues] == [
        ("policies", "missing required key"),
        ("version", "missing required key"),
    ]


def test_bad_utf8_bytes_give_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "hipaa.toml"
    path.write_bytes(HEAD.encode() + b'[audit]\npath = "\xc3\xa9t\xff"\n')
    _, issues = load_config_issues(path)
    assert [(i.line, i.column) for i in issues] == [(4, 11)]
    assert "not valid UTF-8 (byte 0xff)" in issues[0].message


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "hipaa.toml"
    path.write_bytes(b"\xef\xbb\xbf" + HEAD.encode())
    config = load_config(path)
    assert config.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_syntax_error_position_from_python_314_attributes() -> None:
    from hipaactl.config.load import _syntax_error

    class DecodeError(ValueError):
        msg = "Invalid value"
        lineno = 3
        colno = 7

    assert _syntax_error(DecodeError("Invalid value (at line 3, column 7)"), "") == (
        "invalid value",
        3,
        7,
    )


def test_syntax_error_at_end_of_document_points_at_last_line(tmp_path: Path) -> None:
    path = tmp_path / "hipaa.toml"
    path.write_text(HEAD + 'x = "unterminated', encoding="utf-8")
    _, issues = load_config_issues(path)
    assert issues[0].line == 3
    assert issues[0].message.startswith("TOML syntax error: ")


# -- the SPEC example and the packaged example -----------------------------------------


def test_spec_example_loads_into_frozen_dataclasses(tmp_path: Path) -> None:
    path = spec_example(tmp_path)
    config = load_config(path, today=TODAY)
    folder = tmp_path.resolve()

    assert config.path == folder / "hipaa.toml"
    assert config.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (config.version, config.policies) == (1, ("ctm-hipaa-current",))
    assert config.provider == ProviderSettings(
        kind="sandbox", seed=folder / "sandbox" / "agency.json"
    )
    assert config.agency_security == AgencySecurityDesired(15, "every_login", True)
    assert config.defaults == AccountDesired(
        recordings_enabled=True,
        recordings_encrypted=True,
        recordings_encrypted_storage=True,
        transcription="secure",
        redaction="30_days",
        caller_id_enabled=False,
        caller_id_enhanced=False,
        phi_fields="strip",
        extra_phi_fields=(),
        users_mode="additive",
    )
    user = UserDesired("dr.lee@downtown-clinic.example", "Ada", "Lee", "admin")
    assert config.accounts == (
        AccountSpec(
            1001,
            0,
            replace(config.defaults, transcription="off", users=(user,)),
        ),
    )
    assert config.selector == AccountSelector(
        include=("*",), exclude=(Exclusion("marketing sandbox, no patient calls", id=1999),)
    )
    assert config.attestations == Attestations(
        baa=BaaAttestation(
            "CallTrackingMetrics",
            dt.date(2025, 3, 1),
            dt.date(2026, 1, 15),
            "compliance@clinic.example",
            "contracts/ctm-baa.pdf",
        ),
        individual_logins=IndividualLoginsAttestation(
            dt.date(2026, 1, 15), "compliance@clinic.example"
        ),
    )
    assert config.integrations == (AllowedIntegration("salesforce", True),)
    assert config.overrides == (
        Override(
            "CTM-RED-01",
            "advisory",
            "manual redaction after each case",
            "privacy-officer@clinic.example",
            dt.date(2026, 12, 31),
        ),
    )
    assert config.audit_path == folder / ".hipaactl" / "audit.jsonl"


def test_spec_example_key_lines_point_into_the_file(tmp_path: Path) -> None:
    path = spec_example(tmp_path)
    config = load_config(path, today=TODAY)
    lines = path.read_text(encoding="utf-8").splitlines()

    def line(key: str) -> str:
        return lines[config.key_lines[key] - 1]

    assert line("agency.security.idle_timeout_minutes").startswith("idle_timeout_minutes = 15")
    assert line("account[#0]").startswith("[[account]] ")
    assert line("account[#0].transcription").startswith('transcription = "off"')
    assert line("account[#0].user[#0]").startswith("[[account.user]]")
    assert line("accounts.exclude[#0].reason").startswith("exclude = [{ id = 1999")
    assert line("policy.overrides.CTM-RED-01.approved_by").startswith("approved_by")
    assert line("version").startswith("version = 1")


@pytest.mark.skipif(not CLINIC_EXAMPLE.exists(), reason="examples/clinic not written yet")
def test_packaged_clinic_example_loads() -> None:
    config = load_config(CLINIC_EXAMPLE)
    assert config.version == 1
    assert config.provider.seed is None or config.provider.seed.is_file()


# -- merging [[account]] over [defaults] ------------------------------------------------


MERGE = """
[defaults]
recordings = { enabled = true, encrypted = true, encrypted_storage = true }
transcription = "secure"
caller_id = { enabled = false }
notifications = { phi_fields = "strip", extra_phi_fields = ["patient_id"] }
users = { mode = "additive" }

[[account]]
id = 1001
recordings = { encrypted = false }
notifications = { extra_phi_fields = ["mrn"] }
users = { mode = "exact" }

[[account.user]]
email = "Dr.Lee@Clinic.example"
first_name = "Ada"
last_name = "Lee"
role = "admin"

[[account]]
id = 1002
redaction = "daily"
caller_id.enhanced = true
"""


def test_account_merges_over_defaults_leaf_by_leaf(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, MERGE), today=TODAY)
    first, second = (spec.desired for spec in config.accounts)

    assert (first.recordings_enabled, first.recordings_encrypted) == (True, False)
    assert first.recordings_encrypted_storage is True
    assert (first.transcription, first.redaction) == ("secure", None)
    assert (first.phi_fields, first.extra_phi_fields) == ("strip", ("mrn",))
    assert first.users_mode == "exact"
    assert first.users == (UserDesired("Dr.Lee@Clinic.example", "Ada", "Lee", "admin"),)
    assert first.users[0].key == "dr.lee@clinic.example"

    assert (second.redaction, second.transcription) == ("daily", "secure")
    assert (second.caller_id_enabled, second.caller_id_enhanced) == (False, True)
    assert (second.extra_phi_fields, second.users_mode, second.users) == (
        ("patient_id",),
        "additive",
        (),
    )
    assert [(s.id, s.index) for s in config.accounts] == [(1001, 0), (1002, 1)]
    assert config.spec_for(1002) is config.accounts[1]


def test_minimal_config_declares_nothing_else(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, ""), today=TODAY)

    assert config.defaults == AccountDesired()
    assert config.agency_security == AgencySecurityDesired()
    assert config.selector == AccountSelector(include=None)
    assert config.accounts == ()
    assert config.attestations == Attestations()
    assert (config.integrations, config.overrides) == (None, ())
    assert config.provider == ProviderSettings()
    assert config.audit_path == tmp_path.resolve() / ".hipaactl" / "audit.jsonl"


def test_tables_without_their_lists_are_declared_but_empty(tmp_path: Path) -> None:
    body = '[integrations]\n\n[accounts]\ninclude = [1001, "Clinic *"]\n'
    config = load_config(write_config(tmp_path, body), today=TODAY)
    assert config.integrations == ()
    assert config.selector == AccountSelector(include=(1001, "Clinic *"), exclude=())


def test_provider_settings_and_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    body = (
        '[provider]\nkind = "ctm"\nbase_url = "https://api.calltrackingmetrics.com/api/v1"\n'
        "rate_limit = 4\nparallelism = 2\n"
        '[provider.endpoints]\nusers = "/v2/accounts/{aid}/users"\n'
        'agency_security = "/agency/security_settings"\n'
        '[audit]\npath = "../logs/audit.jsonl"\n'
    )
    config = load_config(write_config(tmp_path, body), today=TODAY)
    assert config.provider == ProviderSettings(
        kind="ctm",
        base_url="https://api.calltrackingmetrics.com/api/v1",
        rate_limit=4.0,
        parallelism=2,
        endpoints={
            "agency_security": "/agency/security_settings",
            "users": "/v2/accounts/{aid}/users",
        },
    )
    assert list(config.provider.endpoints) == ["agency_security", "users"]
    assert config.audit_path == tmp_path.resolve().parent / "logs" / "audit.jsonl"


def test_third_party_provider_kind_is_accepted(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, '[provider]\nkind = "acme_ctm2"\n'))
    assert config.provider.kind == "acme_ctm2"


def test_seed_is_checked_only_when_asked(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[provider]\nseed = "sandbox/agency.json"\n')
    config = load_config(path, check_files=False)
    assert config.provider.seed == tmp_path.resolve() / "sandbox" / "agency.json"
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(path, check_files=True)


# -- cross-field rules -----------------------------------------------------------------


def test_today_decides_what_is_in_the_future(tmp_path: Path) -> None:
    body = (
        "[attestations.individual_logins]\n"
        'confirmed_on = 2026-02-01\nby = "compliance@clinic.example"\n'
    )
    path = write_config(tmp_path, body)
    assert load_config(path, today=dt.date(2026, 2, 1)).attestations.individual_logins
    with pytest.raises(ConfigError, match=r"2026-02-01 is in the future \(today is 2026-01-31\)"):
        load_config(path, today=dt.date(2026, 1, 31))


def test_expired_override_is_not_an_error(tmp_path: Path) -> None:
    body = (
        '[policy.overrides."CTM-RED-01"]\nenforcement = "advisory"\nreason = "case by case"\n'
        'approved_by = "privacy@clinic.example"\nexpires_on = 2020-01-01\n'
    )
    config = load_config(write_config(tmp_path, body), today=TODAY)
    assert config.overrides[0].expires_on == dt.date(2020, 1, 1)


def test_exact_mode_with_declared_users_is_fine(tmp_path: Path) -> None:
    body = (
        '[[account]]\nid = 7\nusers = { mode = "exact" }\n'
        '[[account.user]]\nemail = "a@b.example"\nfirst_name = "A"\nlast_name = "B"\n'
        'role = "agent"\n'
    )
    config = load_config(write_config(tmp_path, body), today=TODAY)
    assert config.accounts[0].desired.users_mode == "exact"


def test_credential_key_is_reported_once_with_its_line(tmp_path: Path) -> None:
    error = load_text(tmp_path, '[provider]\nkind = "ctm"\naccess_key = "AKIA-123"\n')
    assert [(i.key, i.line) for i in error.issues] == [("provider.access_key", 5)]
    assert "AKIA-123" not in str(error)


def test_names_that_merely_contain_key_words_are_not_credentials() -> None:
    for name in ("idle_timeout_minutes", "monkey", "keyboard", "tokenizer", "secretary"):
        assert SECRET_KEY_PATTERN.search(name) is None
    for name in ("access_key", "secret", "api_tokens", "PASSWORD", "key_id", "db_password_file"):
        assert SECRET_KEY_PATTERN.search(name)


def test_schema_and_rule_issues_are_reported_together(tmp_path: Path) -> None:
    body = (
        "[agency.security]\nidle_timeout_minutes = 0\n"
        "[[account]]\nid = 5\n[[account]]\nid = 5\n"
        '[provider]\nseed = "missing.json"\n'
    )
    error = load_text(tmp_path, body)
    assert [i.key for i in error.issues] == [
        "agency.security.idle_timeout_minutes",
        "account[#1].id",
        "provider.seed",
    ]
    assert [i.line for i in error.issues] == [4, 8, 10]


def test_load_config_issues_returns_the_config_when_valid(tmp_path: Path) -> None:
    config, issues = load_config_issues(write_config(tmp_path, ""), today=TODAY)
    assert issues == []
    assert config is not None
    assert config.policies == ("ctm-hipaa-current",)
