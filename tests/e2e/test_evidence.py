"""``hipaactl evidence`` against ``sandbox serve``: the ``ctm`` provider over HTTP, after
a real apply, and when the API cannot be reached at all."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Run, StartServer, write_config
from tests.e2e.processes import closed_port_url

Hipaactl = Callable[..., Run]


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIPAACTL_EVALUATED_AT", "2026-11-30T09:00:00Z")
    monkeypatch.delenv("HIPAACTL_AUDIT_KEY", raising=False)


def unzip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_bundle_after_an_apply_over_http(
    tmp_path: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    server = start_server(accounts=2, seed=3)
    config = str(write_config(tmp_path, server.url))
    applied = hipaactl("-c", config, "apply", "--auto-approve")
    assert applied.code == 0, applied.output
    first = hipaactl("-c", config, "evidence", "-o", str(tmp_path / "one.zip"))
    second = hipaactl("-c", config, "evidence", "-o", str(tmp_path / "two.zip"))
    check = hipaactl("-c", config, "check")
    assert first.code == second.code == check.code, first.output
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    files = unzip(tmp_path / "one.zip")
    manifest = json.loads(files["manifest.json"])
    for entry in manifest["files"]:
        assert hashlib.sha256(files[entry["path"]]).hexdigest() == entry["sha256"]
    verify = json.loads(files["change-log/verify.json"])
    assert verify["ok"] is True and verify["records"] == files["change-log/audit.jsonl"].count(
        b"\n"
    )
    report = json.loads(files["report/check.json"])
    assert report["scope"]["managed"] == [1001, 1002]
    assert any(user["account"] == 1001 for user in report["users"])
    # The secret never reaches the bundle.
    assert all(b"e2e-secret" not in data for data in files.values())


def test_unreachable_api_still_writes_a_bundle_whose_report_is_all_errors(
    tmp_path: Path, hipaactl: Hipaactl
) -> None:
    # check always writes its report (SPEC section 7): what could not be read is an
    # error result, never a pass, and the bundle carries that report.
    config = str(write_config(tmp_path, closed_port_url()))
    result = hipaactl("-c", config, "evidence", "-o", str(tmp_path / "evidence.zip"))
    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    files = unzip(tmp_path / "evidence.zip")
    report = json.loads(files["report/check.json"])
    assert report["summary"]["error"] > 0
    assert report["summary"]["pass"] == 0
    assert any(r["address"] == "accounts" and r["status"] == "error" for r in report["results"])
    manifest = json.loads(files["manifest.json"])
    assert manifest["exit_code"] == 1
