"""A file hipaactl must read but cannot (a folder in its place, no read permission) is
an error in words: the path as given and what is wrong, never ``[Errno N] ...``; and
the sandbox working copy suggests ``sandbox reset`` only when its content is damaged,
not when it cannot be read (a reset writes the same path, and would fail or discard
the sandbox's changes). Through the real CLI, on a copy of examples/clinic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CliRunner

STATE = Path(".hipaactl") / "sandbox" / "state.json"
PLAN_UNREADABLE = "cannot read the plan file: it is a folder, not a file"


def assert_in_words(err: str) -> None:
    assert "Errno" not in err and "Traceback" not in err and "unexpected" not in err, err


def test_a_working_copy_that_is_a_folder_is_unreadable_and_reset_is_not_suggested(
    clinic: Path, cli: CliRunner
) -> None:
    (clinic / STATE).mkdir(parents=True)

    for command in (["plan"], ["check"], ["apply", "--auto-approve"]):
        result = cli(*command)
        assert result.code == 1, result.err
        assert f"cannot read the sandbox working copy {STATE}: it is a folder" in result.err
        assert "sandbox reset" not in result.err
        assert_in_words(result.err)
    assert (clinic / STATE).is_dir()  # left as it was


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_working_copy_without_read_permission_says_so(clinic: Path, cli: CliRunner) -> None:
    assert cli("plan").code == 0
    (clinic / STATE).chmod(0)

    result = cli("plan")
    assert result.code == 1
    assert f"{STATE}: permission denied: check the file's permissions" in result.err
    assert "sandbox reset" not in result.err
    assert_in_words(result.err)


def test_a_damaged_working_copy_still_suggests_reset(clinic: Path, cli: CliRunner) -> None:
    (clinic / STATE).parent.mkdir(parents=True)
    (clinic / STATE).write_text("{damaged", encoding="utf-8")

    result = cli("plan")
    assert result.code == 1
    assert f"the sandbox working copy {STATE} is not usable" in result.err
    assert "hipaactl sandbox reset" in result.err
    assert_in_words(result.err)
    assert cli("sandbox", "reset").code == 0
    assert cli("plan").code == 0


@pytest.mark.parametrize(
    ("folder", "command", "said"),
    [
        ("plan.json", ["show", "plan.json"], f"plan.json: {PLAN_UNREADABLE}"),
        ("plan.json", ["apply", "plan.json"], f"plan.json: {PLAN_UNREADABLE}"),
        (".hipaactl/audit.head", ["audit", "verify"], "cannot read audit head"),
    ],
    ids=["show", "apply", "audit head"],
)  # fmt: skip
def test_a_folder_where_a_file_is_read_is_an_error_in_words(
    clinic: Path, cli: CliRunner, folder: str, command: list[str], said: str
) -> None:
    if folder.startswith(".hipaactl"):
        assert cli("apply", "--auto-approve").code == 0  # a log and its head to verify
        (clinic / folder).unlink()
    (clinic / folder).mkdir(parents=True)

    result = cli(*command)
    assert result.code == 1, result.err
    assert said in result.err, result.err
    assert_in_words(result.err)
