"""Terminal conventions (issue 16 item 6), through the real CLI on a copy of
examples/clinic: Terraform's colours only for a terminal, "Acquiring lock…", plan --json
on a gate failure, one "error:" prefix, the -c in the apply hint, paths relative to the
working directory, and --help without Python types or defaults."""

from __future__ import annotations

import json
import re
import socket
import threading
from pathlib import Path

import pytest

from hipaactl.apply.lock import ApplyLock, LockInfo
from hipaactl.commands import apply as apply_command
from tests.conftest import CliRunner

ESCAPE = "\x1b["
COMMANDS = (
    (),
    ("plan",),
    ("apply",),
    ("show",),
    ("check",),
    ("doctor",),
    ("import",),
    ("init",),
    ("validate",),
    ("schema",),
    ("sandbox", "serve"),
    ("sandbox", "reset"),
    ("policies", "list"),
    ("policies", "show"),
    ("audit", "verify"),
    ("audit", "show"),
)
PYTHONISH = re.compile(
    r"\[default:|<(path|int|float|text|bool)\w*>|\bx[<>]=|\b(INTEGER|FLOAT|TEXT|PATH)\b"
)


# -- colour ----------------------------------------------------------------------------


def test_plans_are_coloured_like_terraform_on_request_and_plain_when_piped(
    clinic: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ESCAPE not in cli("plan").out  # piped (captured): plain
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = cli("plan").out
    lines = coloured.splitlines()
    update = next(line for line in lines if "~ update agency.security" in line)
    create = next(line for line in lines if "+ create account[1001].user" in line)
    manual = next(line for line in lines if "! manual account[1002].plan" in line)
    assert update.startswith(f"{ESCAPE}33m")  # yellow
    assert create.startswith(f"{ESCAPE}32m")  # green
    assert manual.startswith(f"{ESCAPE}1;35m")  # bold magenta
    # the text itself is unchanged
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == cli("plan", "--no-color").out
    assert ESCAPE not in cli("plan", "--no-color").out
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESCAPE not in cli("plan").out


def test_unsafe_and_delete_lines_are_red(
    clinic: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (clinic / "hipaa.toml").read_text(encoding="utf-8")
    text = text.replace(
        "id = 1001                                # Downtown Family Clinic",
        'id = 1001\nusers = { mode = "exact" }',
    )
    (clinic / "hipaa.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("FORCE_COLOR", "1")
    lines = cli("plan").out.splitlines()
    delete = next(line for line in lines if "- delete account[1001].user" in line)
    assert delete.startswith(f"{ESCAPE}31m")  # red


def test_check_text_report_is_coloured_and_json_never(
    clinic: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    text = cli("check").out
    assert f"{ESCAPE}1;31mFailed mandatory rules:" in text
    assert ESCAPE not in cli("check", "--format", "json").out


# -- lock, gate JSON, the apply hint -------------------------------------------------


def test_apply_says_acquiring_lock_while_it_waits(
    clinic: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = ApplyLock(clinic, command="hipaactl apply other.json", environ={"USER": "alice"})
    holder.acquire()
    said = apply_command.acquiring_message

    def say_then_release(info: LockInfo | None, timeout: float) -> str:
        # The holder finishes once the waiter has said it waits: no timing involved.
        message = said(info, timeout)
        threading.Thread(target=holder.release).start()
        return message

    monkeypatch.setattr(apply_command, "acquiring_message", say_then_release)
    result = cli("apply", "--auto-approve", "--lock-timeout", "10")
    assert result.code == 0, result.err
    host = socket.gethostname()
    assert f"Acquiring lock… (held by alice@{host} (pid " in result.err
    assert "running 'hipaactl apply other.json'; waiting up to 10 s)" in result.err
    assert "Acquiring lock" not in cli("apply", "--auto-approve", "--lock-timeout", "10").err


def test_plan_json_on_a_gate_failure_prints_the_gate_result_as_json(
    clinic: Path, cli: CliRunner
) -> None:
    path = clinic / "hipaa.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "idle_timeout_minutes = 15 ", "idle_timeout_minutes = 60 "
        ),
        encoding="utf-8",
    )
    result = cli("plan", "--json")
    assert result.code == 3
    gate = json.loads(result.out)
    assert gate["mandatory_failures"] >= 1
    assert "CTM-SEC-01" in {r["rule_id"] for r in gate["results"]}
    assert [p["id"] for p in gate["packs"]] == ["ctm-hipaa-current"]


def test_the_apply_hint_carries_the_config_option(clinic: Path, cli: CliRunner) -> None:
    (clinic / "hipaa.toml").rename(clinic / "my clinic.toml")
    result = cli("plan", "-c", "my clinic.toml", "-o", "plan.json")
    assert "apply it with: hipaactl -c 'my clinic.toml' apply plan.json" in result.err
    (clinic / "my clinic.toml").rename(clinic / "hipaa.toml")
    assert "apply it with: hipaactl apply plan.json" in cli("plan", "-o", "plan.json").err


# -- one error prefix, paths as given relative to here -----------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--target", "account[9]"),
        ("show", "missing.json"),
        ("apply", "missing.json"),
        ("-c", "missing.toml", "validate"),
        ("policies", "show", "NOPE-01"),
        ("sandbox", "serve", "--state", "missing.json"),
        ("check", "--format", "pdf"),
        ("plan", "--parallelism", "0"),
        ("nosuchcommand",),
    ],
)
def test_every_error_has_one_error_prefix(
    clinic: Path, cli: CliRunner, args: tuple[str, ...]
) -> None:
    result = cli(*args)
    assert result.code == 1
    assert result.err.startswith("error: "), result.err
    assert "error: error:" not in result.err.lower() and "Error:" not in result.err
    assert "Traceback" not in result.err


def test_paths_are_printed_relative_to_the_working_directory(clinic: Path, cli: CliRunner) -> None:
    absolute = clinic / "out"
    saved = cli("plan", "-o", str(absolute / "plan.json"))
    assert "Saved the plan to out/plan.json; apply it with: hipaactl apply out/plan.json" in (
        saved.err
    )
    report = cli("check", "--format", "json", "-o", str(absolute / "report.json"))
    assert "Wrote the json report to out/report.json." in report.err
    imported = cli("import", "-o", str(absolute / "imported.toml"))
    assert "Wrote out/imported.toml." in imported.err
    assert "Wrote new/hipaa.toml." in cli("init", str(clinic / "new")).err
    applied = cli("apply", "--auto-approve")
    assert "(.hipaactl/audit.jsonl)" in applied.err


# -- help ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "hipaactl")
def test_help_shows_no_python_types_or_defaults(cli: CliRunner, command: tuple[str, ...]) -> None:
    result = cli(*command, "--help")
    assert result.code == 0, result.err
    assert PYTHONISH.search(result.out) is None, PYTHONISH.search(result.out)
    assert "{" not in result.out.splitlines()[0]  # show PLANFILE, not show {PLANFILE}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("plan", "--parallelism", "0"), "Invalid value for '--parallelism': must be 1 or more"),
        (("sandbox", "serve", "--fail-rate", "2"), "'--fail-rate': must be 1 or less"),
        (("sandbox", "serve", "--latency-ms", "abc"), "'--latency-ms': must be a number"),
        (("plan", "--parallelism", "x"), "'--parallelism': must be a whole number"),
    ],
)
def test_usage_errors_use_plain_words(cli: CliRunner, args: tuple[str, ...], words: str) -> None:
    result = cli(*args)
    assert result.code == 1
    assert words in result.err
    assert "Input should" not in result.err


def test_coloured_output_passes_the_scrubber_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hipaactl.commands.console import out_styled
    from hipaactl.model.scrub import forget_secrets, register_secret

    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    register_secret("s3cr3t-colour-key")
    try:
        out_styled("  ~ update agency.security\n      note: s3cr3t-colour-key\n")
    finally:
        forget_secrets()
    printed = capsys.readouterr().out
    assert ESCAPE in printed and "s3cr3t-colour-key" not in printed
