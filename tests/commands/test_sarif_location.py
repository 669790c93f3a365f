"""SARIF results point at the config relative to the repository root (git top level)
when the config is in a checkout, from any working directory (issue 16 item 7)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, CliRunner


def sarif_uris(cli: CliRunner, *args: str) -> set[str]:
    result = cli(*args, "check", "--format", "sarif")
    assert result.code == 3, result.err
    runs = json.loads(result.out)["runs"]
    return {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for r in runs[0]["results"]
        for location in r["locations"]
    }


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout (its .git folder) holding the clinic example at ops/clinic."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    shutil.copytree(EXAMPLE, tmp_path / "repo" / "ops" / "clinic")
    for name in ("HIPAACTL_CONFIG", "NO_COLOR", "HIPAACTL_NOTIFY_URL", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "repo"


def test_uri_is_relative_to_the_git_top_level_from_any_working_directory(
    checkout: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(checkout / "ops" / "clinic")
    assert sarif_uris(cli) == {"ops/clinic/hipaa.toml"}
    monkeypatch.chdir(checkout.parent)
    assert sarif_uris(cli, "-c", "repo/ops/clinic/hipaa.toml") == {"ops/clinic/hipaa.toml"}
    # other formats keep printing the path relative to the working directory
    text = cli("-c", "repo/ops/clinic/hipaa.toml", "check").out
    assert "config: repo/ops/clinic/hipaa.toml" in text


def test_outside_a_checkout_the_uri_is_relative_to_the_working_directory(
    clinic: Path, cli: CliRunner
) -> None:
    assert sarif_uris(cli) == {"hipaa.toml"}
