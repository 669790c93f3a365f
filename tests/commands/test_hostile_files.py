"""Issue 15, items 1 and 3: hostile files are clean errors that name the file, and a
custom pack's ``matches`` cannot hang a run. Through the real CLI, on a copy of
examples/clinic.

"Hostile" here: lists nested past Python's recursion limit (or just past what any real
document needs), integers of thousands of digits, and regular expressions that make a
backtracking engine take exponential time.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from hipaactl.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clinic"
DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_TOML = "[" * 100_000 + "]" * 100_000
LONG_NUMBER = "9" * 5_000
PACK_HEADER = """
[pack]
id = "clinic-extra"
version = "1.0.0"
title = "Clinic extras"

[[rule]]
id = "CLINIC-01"
title = "Number names are plain"
hipaa = ["45 CFR 164.312(a)(1)"]
hipaa_type = "addressable"
source = "clinic policy"
severity = "low"
enforcement = "advisory"
resource = "number"
remediation = "Rename the number."
"""


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "clinic"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".hipaactl"))
    monkeypatch.chdir(folder)
    monkeypatch.delenv("HIPAACTL_CONFIG", raising=False)
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_named_error(result: tuple[int, str, str], name: str, said: str) -> None:
    code, _, err = result
    assert code == 1, err
    assert name in err, err
    assert said in err, err
    assert "unexpected" not in err and "Traceback" not in err, err
    assert "RecursionError" not in err and "ValueError" not in err, err


@pytest.mark.parametrize(
    ("addition", "said"),
    [
        (f"deep = {DEEP_TOML}\n", "nested deeper than 64 levels"),
        ("deep." + ".".join(f"k{i}" for i in range(100)) + " = 1\n", "nested deeper"),
        (f"deep = {LONG_NUMBER}\n", "longer than"),
    ],
    ids=["arrays", "dotted keys", "5,000 digits"],
)
def test_a_hostile_config_is_an_error_naming_the_file(
    clinic: Path, capsys: pytest.CaptureFixture[str], addition: str, said: str
) -> None:
    path = clinic / "hipaa.toml"
    path.write_text(addition + path.read_text(encoding="utf-8"), encoding="utf-8")

    for command in (["validate"], ["plan"], ["check"]):
        assert_named_error(run(capsys, *command), "hipaa.toml", said)


def test_a_hostile_pack_is_an_error_naming_the_file(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clinic / "deep.toml").write_text(f"deep = {DEEP_TOML}\n", encoding="utf-8")

    assert_named_error(run(capsys, "check", "--pack", "deep.toml"), "deep.toml", "nested")


@pytest.mark.parametrize("text", [DEEP_JSON, '{"format_version": ' + LONG_NUMBER + "}"])
def test_a_hostile_plan_file_is_an_error_naming_the_file(
    clinic: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (clinic / "plan.json").write_text(text, encoding="utf-8")

    for command in (["show", "plan.json"], ["show", "plan.json", "--json"], ["apply", "plan.json"]):
        assert_named_error(run(capsys, *command), "plan.json", "not a hipaactl plan file")


def test_a_hostile_sandbox_seed_is_an_error_naming_the_file(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clinic / "sandbox" / "agency.json").write_text(DEEP_JSON, encoding="utf-8")

    assert_named_error(run(capsys, "plan"), "agency.json", "nested deeper")


def test_a_hostile_sandbox_state_for_serve_is_an_error_naming_the_file(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clinic / "state.json").write_text(DEEP_JSON, encoding="utf-8")

    assert_named_error(run(capsys, "sandbox", "serve", "--state", "state.json"), "state.json", "")


def test_a_hostile_change_log_line_is_reported_not_raised(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = clinic / "audit.jsonl"
    log.write_text(DEEP_JSON + "\n", encoding="utf-8")
    (clinic / "audit.head").write_text(
        json.dumps({"records": 1, "hash": "0" * 64}), encoding="utf-8"
    )

    assert_named_error(run(capsys, "audit", "verify", "audit.jsonl"), "line 1", "nested deeper")
    (clinic / "audit.head").write_text(DEEP_JSON, encoding="utf-8")
    assert_named_error(run(capsys, "audit", "verify", "audit.jsonl"), "audit.head", "nested")


# -- item 3: RE2 ----------------------------------------------------------------------------


def write_pack(folder: Path, pattern: str) -> None:
    value = json.dumps(pattern)
    check = f'check = {{ field = "name", op = "matches", value = {value} }}\n'
    (folder / "extra.toml").write_text(PACK_HEADER + check, encoding="utf-8")


def test_a_catastrophic_pattern_cannot_hang_check(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # With Python's re, (a|aa)+ against 40 a's and a "!" takes about fib(40) steps.
    seed_path = clinic / "sandbox" / "agency.json"
    seed = json.loads(seed_path.read_text(encoding="utf-8"))
    seed["accounts"][0]["numbers"][0]["name"] = "a" * 40 + "!"
    seed["accounts"][0]["numbers"][1]["name"] = "a" * 40
    seed_path.write_text(json.dumps(seed), encoding="utf-8")
    write_pack(clinic, "(a|aa)+")

    code, out, err = run(capsys, "check", "--pack", "extra.toml", "--format", "json")

    assert code == 0, err  # advisory rule: fails, exit 0
    results = json.loads(out)["results"]
    failed = {r["address"] for r in results if r["status"] == "fail"}
    passed = {r["address"] for r in results if r["status"] == "pass"}
    assert 'account[1001].number["TPN1001"]' in failed  # fullmatch: the "!" is not matched
    assert passed == {'account[1001].number["TPN1002"]'}


@pytest.mark.parametrize("pattern", [r"(a)\1", "a(?=b)", "(?<=a)b"])
def test_a_pattern_re2_cannot_compile_is_a_pack_error_naming_the_rule(
    clinic: Path, capsys: pytest.CaptureFixture[str], pattern: str
) -> None:
    write_pack(clinic, pattern)

    code, _, err = run(capsys, "check", "--pack", "extra.toml")

    assert code == 1
    assert "CLINIC-01: rule[0].check.value: not a valid regular expression" in err
    assert "RE2 cannot compile it" in err
    assert "re2.cc" not in err  # RE2's own log line stays quiet


@pytest.mark.parametrize(
    "command",
    [["plan"], ["check", "--format", "json"], ["import", "--force"]],
    ids=["plan", "check", "import"],
)
def test_an_output_path_that_is_not_a_regular_file_is_refused_and_left_alone(
    clinic: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """`-o /dev/null` as root once replaced the device with a plain file: an output
    path that is a FIFO (standing in for a device) or a folder is refused, untouched."""
    fifo = clinic / "out.fifo"
    os.mkfifo(fifo)
    folder = clinic / "out.d"
    folder.mkdir()

    for target in (fifo, folder):
        assert_named_error(
            run(capsys, *command, "-o", target.name), target.name, "not a regular file"
        )

    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.mark.parametrize("number", ["1e400", "NaN", "Infinity", "-Infinity"])
def test_a_seed_with_a_number_that_is_not_finite_is_refused_and_never_saved(
    clinic: Path, capsys: pytest.CaptureFixture[str], number: str
) -> None:
    seed = clinic / "sandbox" / "agency.json"
    document = json.loads(seed.read_text(encoding="utf-8"))
    seed.write_text(
        json.dumps(document).replace('"session_notice": null', f'"session_notice": {number}'),
        encoding="utf-8",
    )
    assert number in seed.read_text(encoding="utf-8")

    for command in (["plan"], ["check"], ["sandbox", "reset"]):
        assert_named_error(run(capsys, *command), "agency.json", "not finite")
    assert not (clinic / ".hipaactl" / "sandbox" / "state.json").exists()


@pytest.mark.parametrize(
    ("name", "text", "command"),
    [
        ("plan.json", '{"format_version": NaN}', ["show", "plan.json"]),
        ("state.json", '{"agency": {"security": {"x": Infinity}}, "accounts": []}',
         ["sandbox", "serve", "--state", "state.json"]),
        ("pack.toml", "[pack]\nid = 'x'\nlimit = inf\n", ["check", "--pack", "pack.toml"]),
    ],
    ids=["plan file", "serve state", "pack"],
)  # fmt: skip
def test_any_file_with_a_number_that_is_not_finite_is_an_error_naming_it(
    clinic: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, command: list[str]
) -> None:
    (clinic / name).write_text(text, encoding="utf-8")

    assert_named_error(run(capsys, *command), name, "not finite")


def test_a_config_with_a_number_that_is_not_finite_is_an_error_naming_it(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = clinic / "hipaa.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("version = 1", "version = nan", 1), encoding="utf-8")

    for command in (["validate"], ["plan"], ["check"]):
        assert_named_error(run(capsys, *command), "hipaa.toml", "not finite")
