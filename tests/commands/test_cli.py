"""The user-visible contract of plan, apply, show, validate, init and schema, through the
real CLI on a copy of the clinic example (issue acceptance criteria 1, 2, 3, 5, 6)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hipaactl import __version__
from tests.conftest import CliRunner

BROKEN = Path(__file__).resolve().parents[1] / "config" / "broken"
BROKEN_CONFIGS = sorted(BROKEN.glob("*.toml"))
STATE = Path(".hipaactl/sandbox/state.json")


def expected_key(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    return first.removeprefix("# expect:").strip() if first.startswith("# expect:") else ""


def edit_live_state(change: dict[str, object]) -> None:
    working = json.loads(STATE.read_text())
    working["state"]["agency"]["security"].update(change)
    STATE.write_text(json.dumps(working))


def test_version_and_help(cli: CliRunner) -> None:
    assert cli("--version").out == f"hipaactl {__version__}\n"
    help_text = cli("--help").out
    assert "Exit codes" in help_text and "drift" in help_text


def test_usage_errors_exit_1_not_2(clinic: Path, cli: CliRunner) -> None:
    for args in (
        ["plan", "--bogus"],
        ["nosuchcommand"],
        ["show"],
        ["apply", "p.json", "--target", "agency.security"],
    ):
        result = cli(*args)
        assert result.code == 1, args
        assert "Traceback" not in result.err


def test_plan_shows_every_kind_of_change_and_manual_actions(clinic: Path, cli: CliRunner) -> None:
    result = cli("plan", "-c", "hipaa.toml")
    assert result.code == 0
    for fragment in (
        "~ update agency.security",
        "~ update account[1001].settings",
        '~ update account[1001].call_settings["CS1001"]',
        '+ create account[1001].user["rosa.nguyen@downtown-clinic.example"]',
        '~ update account[1001].notification["N7"]',
        '! manual account[1001].trigger["T3"]',
        "! manual account[1002].plan",
        '! manual account[1001].number["TPN1002"]',
    ):
        assert fragment in result.out, fragment
    assert "Plan: 1 to add, 13 to change, 0 to destroy, 6 manual." in result.out
    assert cli("plan", "--detailed-exitcode").code == 2


def test_global_options_after_the_command(clinic: Path, cli: CliRunner) -> None:
    shutil.move("hipaa.toml", "other.toml")
    assert cli("plan", "--config", "other.toml", "--no-color").code == 0
    assert cli("plan").code == 1  # hipaa.toml is gone


def test_apply_then_plan_converges(clinic: Path, cli: CliRunner) -> None:
    applied = cli("apply", "--auto-approve")
    assert applied.code == 0, applied.err
    assert "Apply complete: 14 applied" in applied.out
    after = cli("plan", "--detailed-exitcode")
    assert after.code == 0
    assert "No changes. Live state matches the configuration." in after.out
    assert "6 manual" in after.out  # manual actions never make exit code 2


def test_apply_without_terminal_needs_auto_approve(clinic: Path, cli: CliRunner) -> None:
    result = cli("apply")
    assert result.code == 1 and "--auto-approve" in result.err
    assert not STATE.exists() or cli("plan", "--detailed-exitcode").code == 2


def test_saved_plan_applies_and_never_prompts(clinic: Path, cli: CliRunner) -> None:
    assert cli("plan", "-o", "p.json").code == 0
    shown = cli("show", "p.json")
    assert "Plan: 1 to add, 13 to change" in shown.out
    assert json.loads(cli("show", "p.json", "--json").out)["format_version"] == "1"
    assert cli("apply", "p.json").code == 0
    assert cli("plan", "--detailed-exitcode").code == 0


def test_stale_plan_is_refused_and_changes_nothing(clinic: Path, cli: CliRunner) -> None:
    assert cli("plan", "-o", "p.json").code == 0
    edit_live_state({"idle_timeout_minutes": 45})
    before = STATE.read_bytes()
    result = cli("apply", "p.json")
    assert result.code == 1 and "stale plan" in result.err
    assert STATE.read_bytes() == before


def test_edited_plan_is_refused_and_changes_nothing(clinic: Path, cli: CliRunner) -> None:
    assert cli("plan", "-o", "p.json").code == 0
    document = json.loads(Path("p.json").read_text())
    document["changes"][0]["after"] = {"callerid_enabled": True}
    Path("p.json").write_text(json.dumps(document))
    before = STATE.read_bytes()
    result = cli("apply", "p.json")
    assert result.code == 1 and "does not match its inputs" in result.err
    assert STATE.read_bytes() == before


def test_plan_json_is_byte_stable_but_for_created_at(clinic: Path, cli: CliRunner) -> None:
    first, second = (json.loads(cli("plan", "--json").out) for _ in range(2))
    first.pop("created_at"), second.pop("created_at")
    assert first == second
    for key in (
        "config_sha256",
        "state_fingerprint",
        "changes_sha256",
        "unsafe",
        "summary",
        "manual_actions",
        "policy",
        "targets",
        "hipaactl_version",
    ):
        assert key in first
    assert set(first["changes"][0]) >= {
        "address",
        "resource_type",
        "action",
        "before",
        "after",
        "reasons",
        "unsafe",
    }


def test_target_selects_one_account_and_says_partial(clinic: Path, cli: CliRunner) -> None:
    result = cli("plan", "--target", "account[1002]")
    assert result.code == 0
    assert "Partial plan" in result.out
    assert "account[1001]" not in result.out and "account[1002].settings" in result.out
    missing = cli("plan", "--target", "account[1]")
    assert missing.code == 1 and "matches no address in the plan" in missing.err


def test_idle_timeout_30_fails_the_gate(clinic: Path, cli: CliRunner) -> None:
    config = Path("hipaa.toml")
    config.write_text(
        config.read_text().replace("idle_timeout_minutes = 15", "idle_timeout_minutes = 30")
    )
    for args in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        result = cli(*args)
        assert result.code == 3, args
        assert "CTM-SEC-01" in result.err and "164.312(a)(2)(iii)" in result.err
    assert not STATE.exists()
    as_json = json.loads(cli("validate", "--json").out)
    assert as_json["errors"][0]["rule_id"] == "CTM-SEC-01"


@pytest.mark.parametrize("broken", BROKEN_CONFIGS, ids=lambda p: p.stem)
def test_broken_config_exits_1_naming_file_and_key(
    broken: Path, clinic: Path, cli: CliRunner
) -> None:
    target = clinic / "hipaa.toml"
    shutil.copyfile(broken, target)
    key = expected_key(broken)
    for command in ("validate", "plan"):
        result = cli(command)
        assert result.code == 1, (command, result.err)
        assert "hipaa.toml" in result.err
        assert key in result.err
        assert "Traceback" not in result.err and "s3cr3t" not in result.err
    assert not STATE.exists()  # nothing was read or written
    document = json.loads(cli("validate", "--json").out)
    assert document["errors"] and all(e["file"].endswith("hipaa.toml") for e in document["errors"])


def test_init_writes_a_starter_that_plans(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init", str(tmp_path / "new")).code == 0
    monkeypatch.chdir(tmp_path / "new")
    assert cli("validate").code == 0
    assert cli("plan", "--detailed-exitcode").code == 2
    assert cli("init", ".").code == 1  # never overwrites without --force


def test_schema_is_json(cli: CliRunner) -> None:
    schema = json.loads(cli("schema").out)
    assert schema["$schema"].startswith("https://json-schema.org/")


def test_sandbox_reset_restores_the_seed(clinic: Path, cli: CliRunner) -> None:
    assert cli("apply", "--auto-approve").code == 0
    assert cli("sandbox", "reset").code == 0
    assert cli("plan", "--detailed-exitcode").code == 2


def test_sandbox_serve_refuses_an_agency_too_large_to_generate(cli: CliRunner) -> None:
    """`sandbox serve --accounts 100000000` used to fill memory for minutes, silently."""
    result = cli("sandbox", "serve", "--accounts", "100000001")

    assert result.code == 1
    assert "--accounts" in result.err and "100000 or less" in result.err
    assert "Traceback" not in result.err
