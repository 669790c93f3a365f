"""Config problems are reported whole by every command that loads the config: an
account id (or name pattern) listed twice in ``[accounts] include`` or ``exclude``,
and every bad entry of ``policies = [...]`` at once, each located at its entry. Through
the real CLI, on a copy of examples/clinic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CliRunner

# Each command that loads the config, with the flags it needs to get that far.
LOADING_COMMANDS = [
    ["validate"],
    ["plan"],
    ["check"],
    ["apply", "--auto-approve"],
    ["import"],
    ["doctor"],
    ["evidence", "-o", "bundle"],
]
IDS = [command[0] for command in LOADING_COMMANDS]
TWICE_EXCLUDED = """[accounts]
include = ["*", 1001, "North*", 1001]
exclude = [
  { id = 1999, reason = "marketing sandbox: test campaigns only, no patient calls" },
  { name = "Test *", reason = "test accounts" },
  { id = 1999, reason = "listed again by mistake" },
  { name = "Test *", reason = "test accounts, again" },
]
"""
VALID_PACK = """
[pack]
id = "clinic-extra"
version = "1.0.0"
title = "Clinic extras"

[[rule]]
id = "CLINIC-01"
title = "Idle logout within 10 minutes"
hipaa = ["45 CFR 164.312(a)(2)(iii)"]
hipaa_type = "addressable"
source = "clinic policy"
severity = "medium"
enforcement = "advisory"
resource = "agency.security"
check = { field = "idle_timeout_minutes", op = "<=", value = 10 }
remediation = "Agency Settings > Security: 10 minutes."
"""


def replace_in_config(clinic: Path, old: str, new: str) -> None:
    config = clinic / "hipaa.toml"
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def twice_listed(clinic: Path) -> Path:
    text = (clinic / "hipaa.toml").read_text(encoding="utf-8")
    start = text.index("[accounts]")
    end = text.index("]\n", text.index("exclude = [", start)) + 2
    (clinic / "hipaa.toml").write_text(text[:start] + TWICE_EXCLUDED + text[end:], "utf-8")
    return clinic


@pytest.mark.parametrize("command", LOADING_COMMANDS, ids=IDS)
def test_an_account_listed_twice_is_a_config_error_in_every_command(
    twice_listed: Path, cli: CliRunner, command: list[str]
) -> None:
    result = cli(*command)

    assert result.code == 1, result.err
    assert "3 errors in configuration" in result.err, result.err
    for line in (
        "accounts.include[#3]: account 1001 is listed twice in accounts.include "
        "(also accounts.include[#1])",
        "accounts.exclude[#2].id: account 1999 is listed twice in accounts.exclude "
        "(also accounts.exclude[#0])",
        "accounts.exclude[#3].name: name pattern 'Test *' is listed twice",
    ):
        assert line in result.err, result.err
    assert "North*" not in result.err  # listed once: no problem


def test_validate_json_lists_each_account_listed_twice(twice_listed: Path, cli: CliRunner) -> None:
    result = cli("validate", "--json")

    assert result.code == 1
    errors = json.loads(result.out)["errors"]
    assert [(e["file"], e["key"], e["line"]) for e in errors] == [
        ("hipaa.toml", "accounts.include[#3]", 68),
        ("hipaa.toml", "accounts.exclude[#2].id", 72),
        ("hipaa.toml", "accounts.exclude[#3].name", 73),
    ]


@pytest.fixture
def bad_packs(clinic: Path) -> Path:
    (clinic / "syntax.toml").write_text("[pack\n", encoding="utf-8")
    (clinic / "schema.toml").write_text("[pack]\nid = 'x'\n", encoding="utf-8")
    (clinic / "good.toml").write_text(VALID_PACK, encoding="utf-8")
    (clinic / "folder.toml").mkdir()
    (clinic / "bytes.toml").write_bytes(b"[pack]\nid = '\xff'\n")
    replace_in_config(
        clinic,
        'policies = ["ctm-hipaa-current"]',
        'policies = ["syntax.toml", "ctm-hipaa-current", "schema.toml", "good.toml", '
        '"bytes.toml", "ctm-hipaa-curent"]',
    )
    return clinic


@pytest.mark.parametrize("command", LOADING_COMMANDS, ids=IDS)
def test_every_bad_pack_entry_is_reported_in_one_error(
    bad_packs: Path, cli: CliRunner, command: list[str]
) -> None:
    result = cli(*command)

    assert result.code == 1, result.err
    assert "4 errors in configuration" in result.err, result.err
    for entry, said in (
        ("policies[#0]", "syntax.toml: TOML syntax error"),
        ("policies[#2]", "invalid policy pack schema.toml: 3 problems"),
        ("policies[#4]", "bytes.toml: not valid UTF-8"),
        ("policies[#5]", "unknown policy pack 'ctm-hipaa-curent'; did you mean"),
    ):
        assert f"hipaa.toml:23: {entry}: {said}" in result.err, result.err
    assert "policies[#1]" not in result.err and "policies[#3]" not in result.err
    assert "good.toml" not in result.err


@pytest.mark.parametrize("command", [["policies", "list"], ["policies", "show", "CLINIC-01"]])
def test_browsing_rules_warns_of_every_bad_pack_entry(
    bad_packs: Path, cli: CliRunner, command: list[str]
) -> None:
    result = cli(*command)

    for entry in ("policies[#0]", "policies[#2]", "policies[#4]", "policies[#5]"):
        assert entry in result.err, result.err


def test_every_bad_pack_given_with_pack_is_reported_in_one_error(
    bad_packs: Path, cli: CliRunner
) -> None:
    replace_in_config(bad_packs, "policies = [", 'policies = ["ctm-hipaa-current"]\nold = [')
    replace_in_config(bad_packs, "old = [", "# [")

    result = cli("check", "--pack", "syntax.toml", "--pack", "good.toml", "--pack", "schema.toml")

    assert result.code == 1
    assert "--pack[#0]: syntax.toml: TOML syntax error" in result.err, result.err
    assert "--pack[#2]: invalid policy pack schema.toml" in result.err, result.err


def test_validate_json_has_one_error_per_bad_pack_entry(bad_packs: Path, cli: CliRunner) -> None:
    replace_in_config(bad_packs, ', "ctm-hipaa-curent"]', ', "folder.toml"]')

    result = cli("validate", "--json")

    assert result.code == 1
    errors = json.loads(result.out)["errors"]
    assert [e["key"] for e in errors] == [f"policies[#{i}]" for i in (0, 2, 4, 5)]
    assert all((e["file"], e["line"]) == ("hipaa.toml", 23) for e in errors)
    assert "is a directory" in errors[-1]["message"]


def test_custom_packs_taking_taken_ids_are_all_reported(clinic: Path, cli: CliRunner) -> None:
    for name, pack_id in (("a.toml", "ctm-hipaa-2018"), ("b.toml", "twin"), ("c.toml", "twin")):
        text = VALID_PACK.replace('id = "clinic-extra"', f'id = "{pack_id}"')
        text = text.replace("CLINIC-01", f"CLINIC-{name[0].upper()}")
        (clinic / name).write_text(text, encoding="utf-8")
    replace_in_config(
        clinic, 'policies = ["ctm-hipaa-current"]', 'policies = ["a.toml", "b.toml", "c.toml"]'
    )

    result = cli("validate")

    assert result.code == 1
    assert "a.toml: [pack] id 'ctm-hipaa-2018' is the id of a built-in pack" in result.err
    assert "two loaded packs have the id 'twin': b.toml and c.toml" in result.err
