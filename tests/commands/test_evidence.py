"""``hipaactl evidence`` end to end through the real CLI, on a copy of examples/clinic."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest

from hipaactl.apply.audit_log import LogLock, verify_log
from hipaactl.report.check import DISCLAIMER
from tests.conftest import CliRunner

WHEN = "2026-11-30T09:00:00Z"
ZIP_TIME = (2026, 11, 30, 9, 0, 0)


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIPAACTL_EVALUATED_AT", WHEN)
    monkeypatch.delenv("HIPAACTL_AUDIT_KEY", raising=False)


def unzip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def manifest_of(files: dict[str, bytes]) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(files["manifest.json"])
    return manifest


def assert_manifest_matches(files: dict[str, bytes]) -> None:
    manifest = manifest_of(files)
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json", "SHA256SUMS"}
    for path, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(files[path]).hexdigest(), path
        assert entry["bytes"] == len(files[path])
    sums = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    assert all(sums[p] == hashlib.sha256(files[p]).hexdigest() for p in sums)


def test_zip_bundle_of_the_clinic(clinic: Path, cli: CliRunner) -> None:
    result = cli("evidence", "-o", "evidence.zip")
    assert result.code == 3, result.err  # the example fails mandatory rules, as check does
    bundle = clinic / "evidence.zip"
    assert result.out == f"{hashlib.sha256(bundle.read_bytes()).hexdigest()}  evidence.zip\n"
    files = unzip(bundle)
    assert list(files)[:3] == ["README.md", "manifest.json", "SHA256SUMS"]
    assert {
        "config/hipaa.toml",
        "packs/ctm-hipaa-current.toml",
        "report/check.json",
        "report/check.md",
        "report/check.sarif",
        "report/check.html",
        "change-log/verify.json",
        "attestations/attestations.json",
    } <= set(files)
    assert_manifest_matches(files)
    manifest = manifest_of(files)
    assert manifest["evaluated_at"] == "2026-11-30T09:00:00+00:00"
    assert manifest["exit_code"] == 3
    assert files["config/hipaa.toml"] == (clinic / "hipaa.toml").read_bytes()
    assert manifest["config"]["sha256"] == hashlib.sha256(files["config/hipaa.toml"]).hexdigest()
    report = json.loads(files["report/check.json"])
    assert report["run"]["evaluated_at"] == manifest["evaluated_at"]
    assert [p["sha256"] for p in report["packs"]] == [p["sha256"] for p in manifest["packs"]]
    for pack in manifest["packs"]:
        assert hashlib.sha256(files[pack["file"]]).hexdigest() == pack["sha256"]
    with zipfile.ZipFile(bundle) as archive:
        assert {i.date_time for i in archive.infolist()} == {ZIP_TIME}
        assert {stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()} == {0o600}
    assert 'id="trend"' not in files["report/check.html"].decode()  # no --history
    readme = files["README.md"].decode()
    assert "164.316(b)(1)" in readme and "164.312(b)" in readme and DISCLAIMER in readme
    assert all(f"`{path}`" in readme for path in files)


def test_same_inputs_and_time_give_the_same_bytes(clinic: Path, cli: CliRunner) -> None:
    assert cli("evidence", "-o", "one.zip").code == 3
    assert cli("evidence", "-o", "two.zip").code == 3
    assert (clinic / "one.zip").read_bytes() == (clinic / "two.zip").read_bytes()


def test_folder_bundle_with_the_change_log_and_baa_document(clinic: Path, cli: CliRunner) -> None:
    applied = cli("apply", "--auto-approve")
    assert applied.code == 0, applied.err
    document = clinic / "contracts" / "ctm-baa.pdf"
    document.parent.mkdir()
    document.write_bytes(b"%PDF-1.4 signed BAA")
    result = cli("evidence", "-o", "bundle")
    assert result.code == 3, result.err
    folder = clinic / "bundle"
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert_manifest_matches(files)
    assert files["change-log/audit.jsonl"] == (clinic / ".hipaactl" / "audit.jsonl").read_bytes()
    assert files["change-log/audit.head"] == (clinic / ".hipaactl" / "audit.head").read_bytes()
    verify = json.loads(files["change-log/verify.json"])
    assert verify["ok"] is True and verify["mode"] == "plain" and verify["records"] > 0
    assert files["attestations/documents/contracts/ctm-baa.pdf"] == document.read_bytes()
    baa = json.loads(files["attestations/attestations.json"])["baa"]
    assert baa["document_sha256"] == hashlib.sha256(document.read_bytes()).hexdigest()
    assert baa["document_file"] == "attestations/documents/contracts/ctm-baa.pdf"
    for path in [folder, *folder.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600)
    # The copied log verifies on its own, beside its copied head.
    assert cli("audit", "verify", str(folder / "change-log" / "audit.jsonl")).code == 0


def test_a_log_that_does_not_verify_makes_exit_1_and_is_still_bundled(
    clinic: Path, cli: CliRunner
) -> None:
    assert cli("apply", "--auto-approve").code == 0
    log = clinic / ".hipaactl" / "audit.jsonl"
    log.write_text(log.read_text().replace('"applied"', '"failed"', 1))
    result = cli("evidence", "-o", "evidence.zip")
    assert result.code == 1
    assert "the change log does not verify" in result.err
    files = unzip(clinic / "evidence.zip")
    verify = json.loads(files["change-log/verify.json"])
    assert verify["ok"] is False and any("edited" in p for p in verify["problems"])
    assert manifest_of(files)["exit_code"] == 1
    assert "DOES NOT VERIFY" in files["README.md"].decode()


def test_a_missing_log_with_its_head_left_fails(clinic: Path, cli: CliRunner) -> None:
    assert cli("apply", "--auto-approve").code == 0
    (clinic / ".hipaactl" / "audit.jsonl").unlink()
    result = cli("evidence", "-o", "evidence.zip")
    assert result.code == 1
    verify = json.loads(unzip(clinic / "evidence.zip")["change-log/verify.json"])
    assert verify["ok"] is False and "missing" in verify["problems"][0]


def test_existing_target_needs_force(clinic: Path, cli: CliRunner) -> None:
    (clinic / "bundle").mkdir()
    (clinic / "bundle" / "keep.txt").write_text("keep")
    refused = cli("evidence", "-o", "bundle")
    assert refused.code == 1
    assert "pass --force" in refused.err and "Traceback" not in refused.err
    assert (clinic / "bundle" / "keep.txt").read_text() == "keep"
    assert cli("evidence", "-o", "bundle", "--force").code == 3
    assert not (clinic / "bundle" / "keep.txt").exists()
    assert (clinic / "bundle" / "manifest.json").is_file()


def test_an_empty_folder_is_taken_over(clinic: Path, cli: CliRunner) -> None:
    (clinic / "bundle").mkdir()
    assert cli("evidence", "-o", "bundle").code == 3
    assert (clinic / "bundle" / "README.md").is_file()


def test_unwritable_target_is_a_clear_error_and_writes_nothing(
    clinic: Path, cli: CliRunner
) -> None:
    (clinic / "blocked").write_text("a file where a folder should be")
    result = cli("evidence", "-o", "blocked/evidence.zip")
    assert result.code == 1
    assert "cannot write the evidence bundle blocked/evidence.zip" in result.err
    assert "Traceback" not in result.err
    assert sorted(p.name for p in clinic.iterdir() if p.name.startswith(".evidence")) == []


def test_bad_evaluation_time_is_a_usage_error(
    clinic: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIPAACTL_EVALUATED_AT", "2026-11-30 09:00")
    result = cli("evidence", "-o", "evidence.zip")
    assert result.code == 1
    assert "HIPAACTL_EVALUATED_AT" in result.err and "time zone" in result.err
    assert not (clinic / "evidence.zip").exists()


def test_symlink_target_is_refused(clinic: Path, cli: CliRunner) -> None:
    (clinic / "evidence.zip").symlink_to(clinic / "elsewhere.zip")
    result = cli("evidence", "-o", "evidence.zip", "--force")
    assert result.code == 1 and "symbolic link" in result.err
    assert not (clinic / "elsewhere.zip").exists()


def test_history_keeps_earlier_reports_and_names_what_it_skips(
    clinic: Path, cli: CliRunner
) -> None:
    history = clinic / "history"
    (history / "2026-10").mkdir(parents=True)
    assert cli("check", "--format", "json", "-o", "history/2026-10/report.json").code == 3
    (history / "foreign.json").write_text('{"format_version": "1", "plan": []}')
    (history / "broken.json").write_text("{not json")
    (history / "folder.json").mkdir()  # matches *.json but cannot be read as a file
    (history / "notes.txt").write_text("not a report, not even looked at")
    result = cli("evidence", "-o", "evidence.zip", "--history", "history")
    assert result.code == 3, result.err
    files = unzip(clinic / "evidence.zip")
    assert [n for n in files if n.startswith("history/")] == ["history/2026-10/report.json"]
    assert (
        files["history/2026-10/report.json"] == (history / "2026-10" / "report.json").read_bytes()
    )
    for name in ("foreign.json", "broken.json", "folder.json"):
        assert f"history/{name}" in result.err and "skipped" in result.err
    assert len(manifest_of(files)["warnings"]) >= 3
    page = files["report/check.html"].decode()
    # The trend names each report where the bundle keeps it, not where it was read.
    assert 'id="trend"' in page and "history/2026-10/report.json" in page
    assert "Traceback" not in result.err


def test_a_missing_history_folder_is_a_warning_as_for_check(clinic: Path, cli: CliRunner) -> None:
    # One --history loader for check and evidence: the first monthly run has no earlier
    # reports, and the bundle is written in every case (SPEC section 13).
    result = cli("evidence", "-o", "evidence.zip", "--history", "nowhere")
    warning = "--history nowhere: no such folder; the trend shows this run only"
    assert result.code == 3 and f"warning: {warning}" in result.err
    files = unzip(clinic / "evidence.zip")
    assert warning in manifest_of(files)["warnings"]
    assert not any(n.startswith("history/") for n in files)
    assert 'id="trend"' in files["report/check.html"].decode()  # this run alone


def test_keyed_change_log_end_to_end(
    clinic: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "a-key-from-the-ci-secret-store"
    monkeypatch.setenv("HIPAACTL_AUDIT_KEY", key)
    applied = cli("apply", "--auto-approve")
    assert applied.code == 0, applied.err
    verified = cli("audit", "verify")
    assert verified.code == 0 and "(keyed: HMAC-SHA-256 under $HIPAACTL_AUDIT_KEY)" in verified.out
    result = cli("evidence", "-o", "evidence.zip")
    files = unzip(clinic / "evidence.zip")
    verify = json.loads(files["change-log/verify.json"])
    assert verify["ok"] is True and verify["mode"] == "keyed"
    assert all(key.encode() not in data for data in files.values())
    assert key not in applied.out + applied.err + verified.out + result.out + result.err

    monkeypatch.delenv("HIPAACTL_AUDIT_KEY")
    plain = cli("audit", "verify")
    assert plain.code == 0 and "(plain: SHA-256 chain ($HIPAACTL_AUDIT_KEY not set))" in plain.out
    assert "their order was checked, not their contents" in plain.err
    state = clinic / ".hipaactl" / "sandbox" / "state.json"
    document = json.loads(state.read_text(encoding="utf-8"))
    document["state"]["agency"]["security"]["idle_timeout_minutes"] = 60  # drift
    state.write_text(json.dumps(document), encoding="utf-8")
    log = (clinic / ".hipaactl" / "audit.jsonl").read_bytes()
    refused = cli("apply", "--auto-approve")
    assert refused.code == 1 and "is keyed" in refused.err
    assert (clinic / ".hipaactl" / "audit.jsonl").read_bytes() == log
    live = json.loads(state.read_text(encoding="utf-8"))["state"]["agency"]["security"]
    assert live["idle_timeout_minutes"] == 60  # nothing was applied


def test_hostile_history_files_are_skipped_not_fatal(clinic: Path, cli: CliRunner) -> None:
    history = clinic / "history"
    history.mkdir()
    (history / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (history / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    result = cli("evidence", "-o", "evidence.zip", "--history", "history")
    assert result.code == 3 and "Traceback" not in result.err
    assert "history/deep.json is not usable JSON" in result.err
    assert "history/latin1.json is not usable JSON" in result.err
    assert not any(n.startswith("history/") for n in unzip(clinic / "evidence.zip"))


def test_attested_facts_are_in_the_bundle_with_their_results(clinic: Path, cli: CliRunner) -> None:
    seed_path = clinic / "sandbox" / "agency.json"
    seed = json.loads(seed_path.read_text(encoding="utf-8"))
    for account_state in seed["accounts"]:
        for item in account_state["numbers"]:
            del item["hipaa_eligible"]  # a CTM that does not expose number eligibility
    seed_path.write_text(json.dumps(seed), encoding="utf-8")
    config_path = clinic / "hipaa.toml"
    config_path.write_text(
        config_path.read_text(encoding="utf-8")
        + '\n[attestations.facts."CTM-NUM-01"]\nconfirmed_on = 2026-11-27\n'
        'by = "compliance@clinic.example"\n'
        'note = "Buy Numbers page: every number we use shows no asterisk"\n',
        encoding="utf-8",
    )
    assert cli("evidence", "-o", "evidence.zip").code == 3
    document = json.loads(unzip(clinic / "evidence.zip")["attestations/attestations.json"])
    assert document["facts"] == [
        {
            "rule_id": "CTM-NUM-01",
            "confirmed_on": "2026-11-27",
            "by": "compliance@clinic.example",
            "note": "Buy Numbers page: every number we use shows no asterisk",
        }
    ]
    attested = [r for r in document["results"] if r["rule_id"] == "CTM-NUM-01"]
    assert attested and {r["status"] for r in attested} == {"attested"}
    assert any(r["rule_id"].startswith("CTM-BAA") for r in document["results"])


def test_the_bundle_holds_the_log_bytes_that_were_verified(clinic: Path, cli: CliRunner) -> None:
    # One read of the log and head: verify.json speaks of exactly the bytes bundled,
    # which verify again on their own and give the same outcome.
    assert cli("apply", "--auto-approve").code == 0
    result = cli("evidence", "-o", "evidence.zip")
    files = unzip(clinic / "evidence.zip")
    verify = json.loads(files["change-log/verify.json"])
    copy = clinic / "copy"
    copy.mkdir()
    (copy / "audit.jsonl").write_bytes(files["change-log/audit.jsonl"])
    (copy / "audit.head").write_bytes(files["change-log/audit.head"])
    again = verify_log(copy / "audit.jsonl")
    assert result.code == 3 and verify["ok"] is again.ok is True
    assert (verify["records"], verify["last_hash"]) == (again.records, again.last_hash)


def test_evidence_refuses_while_an_apply_holds_the_log(clinic: Path, cli: CliRunner) -> None:
    # An apply holds the log's lock from its first record to its head: evidence does not
    # bundle a log and head from either side of it, and reads no live state.
    assert cli("apply", "--auto-approve").code == 0
    with LogLock(clinic / ".hipaactl" / "audit.jsonl"):
        result = cli("evidence", "-o", "evidence.zip")
    assert result.code == 1
    assert "another hipaactl run is appending to the change log" in result.err
    assert "run again when that run is done" in result.err
    assert not (clinic / "evidence.zip").exists()
    assert cli("evidence", "-o", "evidence.zip").code == 3  # once it is done
