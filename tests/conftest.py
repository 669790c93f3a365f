"""Fixtures shared by the end-to-end tests of the CLI."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hipaactl.cli import main
from hipaactl.model.scrub import forget_secrets

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "clinic"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


CliRunner = Callable[..., Result]


@pytest.fixture(autouse=True)
def no_registered_secrets() -> Iterator[None]:
    """Keys a test loaded are masked in that test only: the scrubber is process-wide."""
    yield
    forget_secrets()


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of examples/clinic as the working directory."""
    folder = tmp_path / "clinic"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".hipaactl"))
    monkeypatch.chdir(folder)
    for name in ("HIPAACTL_CONFIG", "NO_COLOR", "HIPAACTL_NOTIFY_URL"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run the real CLI in process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
