"""The broken-config corpus, part two: problems a command finds when it runs (live
state, the environment, loaded packs), each a fixture in tests/config/broken/cli/ run
through the real CLI (see the README there)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import CliRunner

CORPUS = Path(__file__).parent / "broken" / "cli"
FIXTURES = sorted(CORPUS.glob("*.toml"))


@dataclass
class Expectation:
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    exit: int = 1
    stderr: list[str] = field(default_factory=list)


def read_expectation(path: Path) -> Expectation:
    expectation = Expectation()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# expect"):
            break
        name, _, value = line.removeprefix("# ").partition(": ")
        if name == "expect-command":
            expectation.command = shlex.split(value)
        elif name == "expect-env":
            key, _, env_value = value.partition("=")
            expectation.env[key] = env_value
        elif name == "expect-exit":
            expectation.exit = int(value)
        elif name == "expect-stderr":
            expectation.stderr.append(value)
    return expectation


def test_every_fixture_names_a_command() -> None:
    assert len(FIXTURES) >= 5
    assert all(read_expectation(path).command for path in FIXTURES)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_command_reports_the_problem(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    expectation = read_expectation(path)
    (tmp_path / "hipaa.toml").write_bytes(path.read_bytes())
    monkeypatch.chdir(tmp_path)
    for name in (
        "HIPAACTL_CONFIG",
        "NO_COLOR",
        "HIPAACTL_NOTIFY_URL",
        "CTM_ACCESS_KEY",
        "CTM_SECRET_KEY",
        "CTM_ACCESS_KEY_FILE",
        "CTM_SECRET_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in expectation.env.items():
        monkeypatch.setenv(name, value)
    result = cli("-c", "hipaa.toml", *expectation.command)
    assert result.code == expectation.exit, result.err
    for fragment in expectation.stderr:
        assert fragment in result.err
    assert "Traceback" not in result.err
