"""The keyed change log (SPEC section 13): HMAC-SHA-256 records and head, no re-chaining
without the key, no downgrade to a plain log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipaactl.apply.audit_key import head_mac, record_mac
from hipaactl.apply.audit_log import (
    GENESIS_HASH,
    AuditWriter,
    head_path,
    read_head,
    record_hash,
    verify_log,
)
from hipaactl.canonical import canonical_json
from hipaactl.errors import AuditLogError
from tests.apply.test_audit_log import PLAN, TickingClock, lines_of, rewrite

KEY_TEXT = "audit-key-kept-in-the-ci-secret-store"
KEY = KEY_TEXT.encode()
PLAIN_ENV = {"HIPAACTL_ACTOR": "ci-bot", "USER": "alice"}
KEYED_ENV = {**PLAIN_ENV, "HIPAACTL_AUDIT_KEY": KEY_TEXT}
BEFORE, AFTER = {"two_factor": "off"}, {"two_factor": "every_login"}


def apply(path: Path, environ: dict[str, str], *addresses: str) -> None:
    with AuditWriter(path, plan_sha256=PLAN, environ=environ, clock=TickingClock()) as log:
        for address in addresses:
            log.started(address, BEFORE, AFTER)
            log.finished(address, "applied", BEFORE, AFTER)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines_of(path)]


def write_records(path: Path, items: list[dict[str, Any]]) -> None:
    rewrite(path, [canonical_json(item) + "\n" for item in items])


def rechain(items: list[dict[str, Any]], hasher: Any) -> list[dict[str, Any]]:
    """What someone who can write the log does after an edit: recompute every hash."""
    previous = GENESIS_HASH
    result = []
    for original in items:
        item = {k: v for k, v in original.items() if k != "hash"}
        item["prev"] = previous
        item["hash"] = previous = hasher(item)
        result.append(item)
    return result


def write_plain_head(path: Path, items: list[dict[str, Any]]) -> None:
    head = {"records": len(items), "hash": items[-1]["hash"]}
    head_path(path).write_text(canonical_json(head) + "\n", encoding="utf-8")


@pytest.fixture
def keyed_log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    apply(path, KEYED_ENV, "agency.security", "account[1001].settings")
    return path


def test_keyed_records_and_head_carry_hmacs(keyed_log: Path) -> None:
    items = records(keyed_log)
    assert all(item["keyed"] is True for item in items)
    assert all(item["hash"] == record_mac(item, KEY) for item in items)
    assert all(item["hash"] != record_hash(item) for item in items)
    head = read_head(head_path(keyed_log))
    assert head.first_keyed == 1 and head.records == 4
    assert head.hmac == head_mac(4, items[-1]["hash"], 1, KEY)
    text = keyed_log.read_text() + head_path(keyed_log).read_text()
    assert KEY_TEXT not in text


def test_verify_says_which_mode_it_checked(keyed_log: Path) -> None:
    keyed = verify_log(keyed_log, key=KEY)
    assert keyed.ok and keyed.mode == "keyed" and keyed.warnings == ()
    plain = verify_log(keyed_log)
    assert plain.ok and plain.mode == "plain"
    assert any("keyed" in w and "not their contents" in w for w in plain.warnings)


def test_the_wrong_key_fails(keyed_log: Path) -> None:
    report = verify_log(keyed_log, key=b"another key")
    assert not report.ok
    assert any("does not match its HMAC" in p for p in report.problems)
    assert any("HMAC of audit.head" in p for p in report.problems)


def test_a_forged_rechained_log_fails_with_the_key(keyed_log: Path) -> None:
    items = records(keyed_log)
    items[1]["after"] = {"two_factor": "off"}  # the forgery
    # Re-chained as best one can without the key: plain SHA-256 for every record,
    # keyed marks kept, and a head to match (its HMAC copied, as it cannot be computed).
    forged = rechain(items, record_hash)
    write_records(keyed_log, forged)
    head = json.loads(head_path(keyed_log).read_text())
    head["hash"] = forged[-1]["hash"]
    head_path(keyed_log).write_text(canonical_json(head) + "\n")
    report = verify_log(keyed_log, key=KEY)
    assert not report.ok
    assert sum("does not match its HMAC" in p for p in report.problems) == 4
    assert any("HMAC of audit.head" in p for p in report.problems)


def test_a_downgraded_log_fails_with_the_key(keyed_log: Path) -> None:
    # Every keyed mark removed, every hash recomputed as plain SHA-256, a plain head.
    items = [{k: v for k, v in item.items() if k != "keyed"} for item in records(keyed_log)]
    items[1]["after"] = {"two_factor": "off"}
    downgraded = rechain(items, record_hash)
    write_records(keyed_log, downgraded)
    write_plain_head(keyed_log, downgraded)
    assert verify_log(keyed_log).ok  # to a verifier without the key it looks plain
    report = verify_log(keyed_log, key=KEY)
    assert not report.ok and report.mode == "keyed"
    assert any("is not keyed" in p and "HIPAACTL_AUDIT_KEY" in p for p in report.problems)


def test_a_keyed_head_over_a_downgraded_log_fails_even_without_the_key(keyed_log: Path) -> None:
    items = [{k: v for k, v in item.items() if k != "keyed"} for item in records(keyed_log)]
    downgraded = rechain(items, record_hash)
    write_records(keyed_log, downgraded)
    head = json.loads(head_path(keyed_log).read_text())
    head["hash"] = downgraded[-1]["hash"]
    head_path(keyed_log).write_text(canonical_json(head) + "\n")
    report = verify_log(keyed_log)
    assert not report.ok
    assert any("first keyed record is line 1, but no record is keyed" in p for p in report.problems)


def test_a_plain_record_after_a_keyed_one_fails_in_either_mode(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    apply(path, KEYED_ENV, "agency.security")
    items = records(path)
    tail = {k: v for k, v in items[-1].items() if k not in ("keyed", "hash")}
    tail.update(seq=3, prev=items[-1]["hash"])
    tail["hash"] = record_hash(tail)
    write_records(path, [*items, tail])
    for key in (None, KEY):
        report = verify_log(path, key=key)
        assert any(
            "line 3: a plain record after the keyed record at line 1" in p for p in report.problems
        )


def test_a_plain_head_over_a_keyed_log_fails_in_either_mode(keyed_log: Path) -> None:
    write_plain_head(keyed_log, records(keyed_log))
    for key in (None, KEY):
        report = verify_log(keyed_log, key=key)
        assert any("audit.head is plain, but the log is keyed" in p for p in report.problems)


def test_apply_without_the_key_refuses_a_keyed_log(keyed_log: Path) -> None:
    before = keyed_log.read_bytes(), head_path(keyed_log).read_bytes()
    with pytest.raises(AuditLogError, match="is keyed") as caught:
        apply(keyed_log, PLAIN_ENV, "agency.security")
    assert "HIPAACTL_AUDIT_KEY" in str(caught.value) and KEY_TEXT not in str(caught.value)
    assert (keyed_log.read_bytes(), head_path(keyed_log).read_bytes()) == before


def test_apply_with_another_key_refuses_a_keyed_log(keyed_log: Path) -> None:
    with pytest.raises(AuditLogError):
        apply(keyed_log, {**PLAIN_ENV, "HIPAACTL_AUDIT_KEY": "wrong"}, "agency.security")


def test_a_plain_log_becomes_keyed_and_stays_verifiable(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    apply(path, PLAIN_ENV, "agency.security")
    assert verify_log(path).ok
    apply(path, KEYED_ENV, "account[1001].settings")
    items = records(path)
    assert ["keyed" in item for item in items] == [False, False, True, True]
    assert read_head(head_path(path)).first_keyed == 3
    assert verify_log(path, key=KEY).ok
    apply(path, KEYED_ENV, "account[1002].settings")
    assert read_head(head_path(path)).first_keyed == 3
    assert verify_log(path, key=KEY).ok


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_edit_of_a_keyed_log_fails_with_the_key(tmp_path: Path, data: st.DataObject) -> None:
    path = tmp_path / "audit.jsonl"
    if not path.exists():
        apply(path, KEYED_ENV, "agency.security", "account[1001].settings")
    original = path.read_bytes()
    try:
        items = records(path)
        index = data.draw(st.integers(0, len(items) - 1))
        field = data.draw(st.sampled_from(["actor", "address", "time", "error", "result"]))
        items[index][field] = data.draw(st.sampled_from(["unknown", "mallory", "x"]))
        write_records(path, rechain(items, record_hash))
        assert not verify_log(path, key=KEY).ok
    finally:
        path.write_bytes(original)
