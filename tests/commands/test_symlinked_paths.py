"""A file given as a symbolic link is named by the link in every message, never by the
file it points to (``files.shown_path`` follows no link): the config, the sandbox seed,
a saved plan, a pack file, an output file and a --history file. Through the real CLI,
on a copy of examples/clinic; each target lives in a folder named ``elsewhere`` that no
message may mention."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hipaactl.files import shown_path
from tests.conftest import CliRunner, Result

BROKEN_PACK = "[pack]\nid = 'clinic-extra'\n"


def link(name: str, target: Path) -> Path:
    """``name`` in the working directory, a symbolic link to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    path = Path(name)
    path.symlink_to(target)
    return path


def assert_names_the_link(result: Result, name: str) -> None:
    assert result.code == 1, result.err
    assert name in result.err, result.err
    assert "elsewhere" not in result.err + result.out, result.err


def test_a_config_given_as_a_link_is_named_by_the_link(clinic: Path, cli: CliRunner) -> None:
    good = link("good-link.toml", clinic / "hipaa.toml")
    broken = clinic.parent / "elsewhere" / "hipaa.toml"
    broken.parent.mkdir()
    broken.write_text('version = 1\npolicies = ["nope"]\n', encoding="utf-8")
    link("broken-link.toml", broken)

    valid = cli("-c", str(good), "validate")
    assert valid.code == 0, valid.err
    assert valid.out.startswith("good-link.toml is valid"), valid.out
    for command in (["validate"], ["plan"], ["check"]):
        assert_names_the_link(cli("-c", "broken-link.toml", *command), "broken-link.toml")
    as_json = cli("-c", "broken-link.toml", "validate", "--json")
    assert as_json.code == 1
    assert '"file": "broken-link.toml"' in as_json.out, as_json.out
    assert "elsewhere" not in as_json.out


def test_a_seed_given_as_a_link_is_named_by_the_link(clinic: Path, cli: CliRunner) -> None:
    seed = clinic.parent / "elsewhere" / "agency.json"
    seed.parent.mkdir()
    seed.write_text('{"agency": {}}', encoding="utf-8")
    link("sandbox/seed-link.json", seed)
    config = clinic / "hipaa.toml"
    text = config.read_text(encoding="utf-8").replace(
        "sandbox/agency.json", "sandbox/seed-link.json"
    )
    config.write_text(text, encoding="utf-8")

    for command in (["plan"], ["check"], ["sandbox", "reset"]):
        assert_names_the_link(cli(*command), "sandbox/seed-link.json")


def test_a_plan_file_given_as_a_link_is_named_by_the_link(clinic: Path, cli: CliRunner) -> None:
    plan = clinic.parent / "elsewhere" / "plan.json"
    plan.parent.mkdir()
    plan.write_text('{"format_version": "0"}', encoding="utf-8")
    link("plan-link.json", plan)

    for command in (["show", "plan-link.json"], ["apply", "plan-link.json"]):
        assert_names_the_link(cli(*command), "plan-link.json")


def test_a_pack_given_as_a_link_is_named_by_the_link(clinic: Path, cli: CliRunner) -> None:
    pack = clinic.parent / "elsewhere" / "pack.toml"
    pack.parent.mkdir()
    pack.write_text(BROKEN_PACK, encoding="utf-8")
    link("pack-link.toml", pack)
    config = clinic / "hipaa.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('policies = ["ctm-hipaa-current"]', 'policies = ["pack-link.toml"]'),
        encoding="utf-8",
    )

    for command in (["validate"], ["plan"], ["policies", "list"]):
        result = cli(*command)
        if command[0] == "policies":  # browsing still works; the warning names the link
            assert "pack-link.toml" in result.err and "elsewhere" not in result.err
            continue
        assert_names_the_link(result, "pack-link.toml")
    assert_names_the_link(cli("check", "--pack", "pack-link.toml"), "pack-link.toml")


def test_an_output_file_given_as_a_link_is_named_by_the_link(clinic: Path, cli: CliRunner) -> None:
    target = clinic.parent / "elsewhere" / "report.txt"
    link("report-link.txt", target)

    for command in (["check", "-o", "report-link.txt"], ["plan", "-o", "report-link.txt"]):
        result = cli(*command)
        assert_names_the_link(result, "report-link.txt")
        assert "symbolic link" in result.err
    assert not target.exists()


def test_a_history_file_given_as_a_link_is_named_by_the_link(clinic: Path, cli: CliRunner) -> None:
    report = clinic.parent / "elsewhere" / "old.json"
    report.parent.mkdir()
    report.write_text("{not json", encoding="utf-8")
    (clinic / "history").mkdir()
    link("history/old.json", report)

    result = cli("check", "--format", "html", "--history", "history", "-o", "report.html")
    assert "history/old.json" in result.err, result.err
    assert "elsewhere" not in result.err


def test_shown_path_follows_no_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "file.toml").write_text("", encoding="utf-8")
    os.symlink("real", tmp_path / "linked-folder")
    os.symlink(tmp_path / "real" / "file.toml", tmp_path / "link.toml")

    assert shown_path(Path("link.toml")) == "link.toml"
    assert shown_path(tmp_path / "link.toml") == "link.toml"
    assert shown_path(Path("linked-folder/file.toml")) == "linked-folder/file.toml"
    assert shown_path(Path("./real/../link.toml")) == "link.toml"
    assert shown_path(Path(".")) == "."
    outside = tmp_path.parent / "other.toml"
    assert shown_path(outside) == str(outside)
