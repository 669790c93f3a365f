"""Loading packs: built-ins by id, files by path, and every way a pack can be wrong."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hipaactl.errors import ConfigError, PolicyPackError
from hipaactl.policy import packs as packs_module
from hipaactl.policy.model import Ref
from hipaactl.policy.packs import builtin_pack_ids, load_packs, pack_digest_inputs

REPO = Path(__file__).resolve().parents[2]
CONFIG = Path("/srv/clinic/hipaa.toml")

HEADER = """
[pack]
id = "clinic-extra"
version = "1.0.0"
title = "Clinic extras"
"""


def rule_toml(
    rule_id: str = "CLINIC-01",
    *,
    resource: str = "agency.security",
    check: str = '{ field = "idle_timeout_minutes", op = "<=", value = 10 }',
    when: str = "[]",
) -> str:
    return f"""
[[rule]]
id = "{rule_id}"
title = "Idle logout within 10 minutes"
hipaa = ["45 CFR 164.312(a)(2)(iii)"]
hipaa_type = "addressable"
source = "clinic policy"
severity = "medium"
enforcement = "advisory"
resource = "{resource}"
when = {when}
check = {check}
remediation = "Agency Settings > Security: 10 minutes."
"""


def write_pack(directory: Path, text: str, name: str = "clinic.toml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_one(tmp_path: Path, text: str) -> None:
    write_pack(tmp_path, text)
    load_packs(["clinic.toml"], base_dir=tmp_path, config_file=tmp_path / "hipaa.toml")


def pack_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_one(tmp_path, text)
    (issue,) = caught.value.issues
    assert issue.key == "policies[#0]"  # located at the config entry that names it
    message = str(caught.value)
    assert str(tmp_path / "clinic.toml") in message  # every problem names the pack file
    return message


# -- built-ins -----------------------------------------------------------------------


def test_builtin_ids() -> None:
    assert builtin_pack_ids() == ("ctm-hipaa-2018", "ctm-hipaa-current", "ctm-hipaa-extended")


def test_source_checkout_falls_back_to_the_policies_folder() -> None:
    # The editable install has no hipaactl/_packs (the wheel's force-include adds it).
    assert not (REPO / "hipaactl" / "_packs").exists()
    assert Path(str(packs_module._builtin_root())) == REPO / "policies"


def test_load_builtin_by_id(tmp_path: Path) -> None:
    (current,) = load_packs(["ctm-hipaa-current"], base_dir=tmp_path)
    data = (REPO / "policies" / "ctm-hipaa-current.toml").read_bytes()
    assert current.id == "ctm-hipaa-current"
    assert current.source_path == "builtin:ctm-hipaa-current"
    assert current.sha256 == hashlib.sha256(data).hexdigest()
    assert all(rule.pack_id == "ctm-hipaa-current" for rule in current.rules)
    plan = next(r for r in current.rules if r.id == "CTM-PLAN-01")
    assert plan.check.value == Ref("eligible_plans")


def test_installed_wheel_layout_is_preferred(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    packaged = tmp_path / "hipaactl"
    write_pack(packaged / "_packs", HEADER + rule_toml(), name="wheel-only.toml")
    monkeypatch.setattr(packs_module.resources, "files", lambda _: packaged)
    assert builtin_pack_ids() == ("wheel-only",)


# -- pack files ----------------------------------------------------------------------


def test_pack_file_is_relative_to_base_dir(tmp_path: Path) -> None:
    path = write_pack(tmp_path / "policies", HEADER + rule_toml())
    loaded = load_packs(
        ["ctm-hipaa-current", "policies/clinic.toml"], base_dir=tmp_path, config_file=CONFIG
    )
    assert [p.id for p in loaded] == ["ctm-hipaa-current", "clinic-extra"]
    assert loaded[1].source_path == "policies/clinic.toml"
    assert loaded[1].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert pack_digest_inputs(loaded) == (("policies/clinic.toml", loaded[1].sha256),)


def test_unknown_id_suggests_a_builtin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_packs(["ctm-hipaa-2018", "ctm-hipaa-curent"], base_dir=tmp_path, config_file=CONFIG)
    (issue,) = caught.value.issues
    assert (issue.file, issue.key) == (str(CONFIG), "policies[#1]")
    assert "did you mean 'ctm-hipaa-current'?" in issue.message
    assert "built-in packs: ctm-hipaa-2018, ctm-hipaa-current" in issue.message


def test_every_unknown_ref_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_packs(["nope", "missing/pack.toml"], base_dir=tmp_path, config_file=CONFIG)
    keys = [i.key for i in caught.value.issues]
    assert keys == ["policies[#0]", "policies[#1]"]
    assert f"policy pack file not found: {tmp_path / 'missing' / 'pack.toml'}" in (
        caught.value.issues[1].message
    )


def test_unknown_pack_from_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_packs(["ctm-hipaa"], base_dir=tmp_path)
    (issue,) = caught.value.issues
    assert (issue.file, issue.key) == ("--pack", "--pack[#0]")


def test_duplicate_rule_ids_across_packs(tmp_path: Path) -> None:
    write_pack(tmp_path, HEADER + rule_toml("CTM-SEC-01"))
    with pytest.raises(PolicyPackError) as caught:
        load_packs(["ctm-hipaa-current", "clinic.toml"], base_dir=tmp_path)
    assert "rule CTM-SEC-01 is defined by both builtin:ctm-hipaa-current and clinic.toml" in str(
        caught.value
    )


def test_same_pack_twice_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_packs(["ctm-hipaa-2018", "ctm-hipaa-2018"], base_dir=tmp_path)
    assert [i.key for i in caught.value.issues] == ["--pack[#1]"]
    assert "listed twice" in str(caught.value)
    assert "unique" not in str(caught.value)


# -- malformed packs -----------------------------------------------------------------


def test_toml_syntax_error(tmp_path: Path) -> None:
    message = pack_error(tmp_path, HEADER + "[[rule]\n")
    assert "TOML syntax error" in message
    assert "line 6, column 7" in message


def test_bad_utf8(tmp_path: Path) -> None:
    (tmp_path / "clinic.toml").write_bytes(b'[pack]\nid = "\xff"\n')
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_packs(["clinic.toml"], base_dir=tmp_path)


@pytest.mark.parametrize(
    ("rule_text", "expected"),
    [
        (
            rule_toml(check='{ field = "idle_timeout_minutes", op = "=<", value = 10 }'),
            "CLINIC-01: rule[0].check.op: '=<' is not allowed",
        ),
        (
            rule_toml(
                check='{ field = "fields", op = "contains_none", value = { ref = "phi" } }',
                resource="notification",
            ),
            "rule[0].check.value: a table value must be { ref = NAME } with NAME one of: "
            "phi_fields, eligible_plans",
        ),
        (
            rule_toml(
                check='{ field = "fields", op = "contains_none", value = { code = "x" } }',
                resource="notification",
            ),
            "a table value must be { ref = NAME }",
        ),
        (rule_toml(resource="agency"), "rule[0].resource: 'agency' is not allowed"),
        (
            rule_toml(check='{ field = "idle_timeout", op = "<=", value = 10 }'),
            "rule[0].check.field: agency.security has no field 'idle_timeout'; "
            "did you mean 'idle_timeout_minutes'?",
        ),
        (
            rule_toml(
                resource="settings",
                check='{ field = "encrypted_recordings", op = "==", value = true }',
                when='[{ any = "call_settings", all = "call_settings", field = "records", '
                'op = "==", value = true }]',
            ),
            "rule[0].when[0]: use either any or all, not both",
        ),
        (
            rule_toml(
                resource="settings",
                check='{ field = "encrypted_recordings", op = "==", value = true }',
                when='[{ every = "call_settings", field = "records", op = "==", value = true }]',
            ),
            "unknown key 'every'",
        ),
        (
            rule_toml(
                resource="settings",
                check='{ field = "encrypted_recordings", op = "==", value = true }',
                when='[{ any = "call_settings", field = "recording", op = "==", value = true }]',
            ),
            "rule[0].when[0].field: call_settings has no field 'recording'",
        ),
        (
            rule_toml(
                when='[{ any = "call_settings", field = "records", op = "==", value = true }]'
            ),
            "'call_settings' cannot be quantified over from a 'agency.security' rule",
        ),
        (
            rule_toml(
                check='{ any = "agency.security", field = "idle_timeout_minutes", op = "<=", '
                "value = 10 }"
            ),
            "a check cannot use any/all",
        ),
        (
            rule_toml(check='{ field = "idle_timeout_minutes", op = "<=", value = "10" }'),
            "rule[0].check.value: <= needs a number",
        ),
        (
            rule_toml(check='{ field = "two_factor", op = "in", value = "every_login" }'),
            "in needs a list or { ref = ... }",
        ),
        (
            rule_toml(check='{ field = "two_factor", op = "matches", value = "every_(" }'),
            "not a valid regular expression",
        ),
        (
            rule_toml(check='{ field = "two_factor", op = "==", value = { ref = "phi_fields" } }'),
            "== compares with a literal",
        ),
        (
            rule_toml().replace('severity = "medium"', 'severty = "medium"'),
            "did you mean 'severity'?",
        ),
        (
            rule_toml().replace('hipaa_type = "addressable"\n', ""),
            "rule[0].hipaa_type: required key",
        ),
        (rule_toml() + rule_toml(), "rule id CLINIC-01 appears twice in this pack"),
    ],
    ids=[
        "bad op",
        "unknown ref",
        "table not a ref",
        "unknown resource type",
        "unknown field",
        "any and all",
        "unknown quantifier",
        "unknown quantified field",
        "quantifier scope",
        "quantified check",
        "order needs number",
        "in needs list",
        "bad regex",
        "ref with ==",
        "unknown key",
        "missing key",
        "duplicate id in pack",
    ],
)
def test_malformed_rule(tmp_path: Path, rule_text: str, expected: str) -> None:
    assert expected in pack_error(tmp_path, HEADER + rule_text)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        HEADER
        + rule_toml("A-01", resource="agency")
        + rule_toml("B-01", check='{ field = "idle", op = "<=", value = 1 }')
    )
    message = pack_error(tmp_path, text)
    assert "2 problems" in message
    assert "A-01: rule[0].resource" in message
    assert "B-01: rule[1].check.field" in message


def test_a_pack_needs_rules(tmp_path: Path) -> None:
    assert "rule: required key is missing" in pack_error(tmp_path, HEADER)
