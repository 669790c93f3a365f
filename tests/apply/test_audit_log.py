from __future__ import annotations

import json
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from hipaactl.apply.audit_log import (
    GENESIS_HASH,
    AuditHead,
    AuditWriter,
    LogFiles,
    LogLock,
    actor_from,
    check_appendable,
    format_time,
    head_path,
    read_head,
    read_log,
    read_log_files,
    record_hash,
    verify_bytes,
    verify_log,
)
from hipaactl.canonical import canonical_json
from hipaactl.errors import AuditLogError, LockError, UsageError
from hipaactl.model.scrub import register_secret
from tests.apply.full_disk import fill_disk_at

PLAN = "a" * 64
START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
ENV = {"HIPAACTL_ACTOR": "ci-bot", "USER": "alice"}


class TickingClock:
    """One second later on every call: deterministic, ordered times."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        moment = self.now
        self.now += timedelta(seconds=1)
        return moment


def writer(path: Path, **overrides: Any) -> AuditWriter:
    options: dict[str, Any] = {"plan_sha256": PLAN, "environ": ENV, "clock": TickingClock()}
    options.update(overrides)
    return AuditWriter(path, **options)


def write_apply(path: Path, *addresses: str, result: str = "applied") -> AuditHead:
    """One apply: a started and an outcome record per address, then the head."""
    with writer(path) as log:
        for address in addresses:
            log.started(address, {"two_factor": "off"}, {"two_factor": "every_login"})
            log.finished(address, result, {"two_factor": "off"}, {"two_factor": "every_login"})  # type: ignore[arg-type]
    return log.head


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines), encoding="utf-8")


def rehashed(record: dict[str, Any]) -> str:
    record = {**record, "hash": record_hash(record)}
    return canonical_json(record) + "\n"


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / ".hipaactl" / "audit.jsonl"


# --- the format ------------------------------------------------------------------------


def test_records_hold_every_field_and_chain(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    first, second = (json.loads(line) for line in lines_of(log_path))
    assert first == {
        "seq": 1,
        "time": "2024-05-01T12:00:00.000Z",
        "actor": "ci-bot",
        "hipaactl_version": first["hipaactl_version"],
        "plan_sha256": PLAN,
        "address": "agency.security",
        "result": "started",
        "before": {"two_factor": "off"},
        "after": {"two_factor": "every_login"},
        "error": None,
        "prev": GENESIS_HASH,
        "hash": record_hash(first),
    }
    assert second["result"] == "applied"
    assert second["seq"] == 2
    assert second["prev"] == first["hash"]
    assert second["time"] == "2024-05-01T12:00:01.000Z"


def test_each_line_is_canonical_json(log_path: Path) -> None:
    with writer(log_path) as log:
        log.started('account[1].user["é@x.org"]', None, {"first_name": "Zoë"})
    line = lines_of(log_path)[0]
    assert line == canonical_json(json.loads(line)) + "\n"
    assert "Zoë" in line  # ensure_ascii=False


def test_failed_outcome_carries_the_error(log_path: Path) -> None:
    with writer(log_path) as log:
        log.started("account[1].settings", {"a": 1}, {"a": 2})
        log.finished("account[1].settings", "failed", {"a": 1}, {"a": 2}, "HTTP 500: boom")
    assert json.loads(lines_of(log_path)[1])["error"] == "HTTP 500: boom"


def test_an_outcome_must_be_an_outcome(log_path: Path) -> None:
    with writer(log_path) as log, pytest.raises(ValueError, match="outcome"):
        log.finished("agency.security", "started", None, None)  # type: ignore[arg-type]


def test_actor_falls_back_to_user_at_host() -> None:
    assert actor_from({"HIPAACTL_ACTOR": "deploy@ci"}) == "deploy@ci"
    assert actor_from({"USER": "bob"}).startswith("bob@")
    assert actor_from({"HIPAACTL_ACTOR": "  ", "USER": "bob"}).startswith("bob@")


def test_naive_times_are_taken_as_utc() -> None:
    assert format_time(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05.000Z"


# --- the head and continuing a log -----------------------------------------------------


def test_close_writes_the_head_beside_the_log(log_path: Path) -> None:
    head = write_apply(log_path, "agency.security", "account[1].settings")
    assert head == AuditHead(4, json.loads(lines_of(log_path)[-1])["hash"])
    assert json.loads(head_path(log_path).read_text()) == {"records": 4, "hash": head.hash}
    assert read_head(head_path(log_path)) == head


def test_a_new_writer_continues_the_chain(log_path: Path) -> None:
    first = write_apply(log_path, "agency.security")
    second = write_apply(log_path, "account[1].settings")
    records = [json.loads(line) for line in lines_of(log_path)]
    assert records[2]["prev"] == first.hash
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert second.records == 4
    assert verify_log(log_path).ok


def test_close_without_records_still_writes_the_head(log_path: Path) -> None:
    with writer(log_path) as log:
        pass
    assert log.head == AuditHead(0, GENESIS_HASH)
    assert read_head(head_path(log_path)) == AuditHead(0, GENESIS_HASH)
    assert not log_path.exists()


def test_closing_twice_returns_the_same_head(log_path: Path) -> None:
    log = writer(log_path)
    log.started("agency.security", None, None)
    assert log.close() == log.close()
    with pytest.raises(RuntimeError):
        log.started("agency.security", None, None)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: [*lines, '{"seq": 5, "res'], "partial line"),
        (lambda lines: [*lines[:-1], lines[-1].replace("applied", "failed")], "damaged"),
        (lambda lines: lines[:-1], "does not reach its head"),
    ],
    ids=["partial-tail", "edited-tail", "cut-from-end"],
)
def test_a_writer_refuses_a_broken_tail(log_path: Path, damage: Any, message: str) -> None:
    write_apply(log_path, "agency.security")
    rewrite(log_path, damage(lines_of(log_path)))
    before = log_path.read_bytes()
    with pytest.raises(AuditLogError, match=message) as caught:
        writer(log_path)
    assert "audit verify" in str(caught.value)
    assert log_path.read_bytes() == before


def test_a_writer_refuses_a_missing_log_with_a_head(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    log_path.unlink()
    with pytest.raises(AuditLogError, match="does not reach its head"):
        writer(log_path)


def test_a_writer_closes_writes_a_killed_run_left_open(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    head_before = head_path(log_path).read_text()
    killed = writer(log_path)
    killed.started("account[1].settings", {"a": 1}, {"a": 2})
    killed.close()
    head_path(log_path).write_text(head_before)  # killed: no outcome and no new head
    assert not verify_log(log_path).ok

    write_apply(log_path, "account[2].settings")
    records = [json.loads(line) for line in lines_of(log_path)]
    closure = records[3]
    assert closure["result"] == "unknown"
    assert closure["address"] == "account[1].settings"
    assert (closure["before"], closure["after"]) == ({"a": 1}, {"a": 2})
    assert "run plan" in closure["error"]
    assert verify_log(log_path).ok


def test_concurrent_records_keep_one_chain(log_path: Path) -> None:
    log = writer(log_path)

    def work(index: int) -> None:
        for _ in range(5):
            log.started(f"account[{index}].settings", None, None)
            log.finished(f"account[{index}].settings", "applied", None, None)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.close().records == 40
    report = verify_log(log_path)
    assert report.ok, report.problems
    assert report.records == 40


# --- verify ----------------------------------------------------------------------------


def test_an_intact_log_verifies(log_path: Path) -> None:
    head = write_apply(log_path, "agency.security", "account[1].settings")
    report = verify_log(log_path)
    assert report.ok
    assert report.problems == ()
    assert report.warnings == ()
    assert (report.records, report.last_hash) == (4, head.hash)


def test_an_edited_record_is_named(log_path: Path) -> None:
    write_apply(log_path, "agency.security", "account[1].settings")
    lines = lines_of(log_path)
    lines[1] = lines[1].replace('"applied"', '"failed"')
    rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok
    assert report.problems == ("line 2: record was edited: its hash does not match its content",)


def test_an_edited_and_rehashed_record_breaks_the_next_link(log_path: Path) -> None:
    write_apply(log_path, "agency.security", "account[1].settings")
    lines = lines_of(log_path)
    record = json.loads(lines[1])
    lines[1] = rehashed({**record, "result": "failed"})
    rewrite(log_path, lines)
    problems = verify_log(log_path).problems
    assert problems[0].startswith("line 3: prev does not match the hash of line 2")


def test_a_removed_record_is_named(log_path: Path) -> None:
    write_apply(log_path, "agency.security", "account[1].settings")
    lines = lines_of(log_path)
    del lines[1]
    rewrite(log_path, lines)
    problems = verify_log(log_path).problems
    assert any(
        p.startswith("line 2: prev does not match the hash of line 1; seq is 3, expected 2")
        and "removed, inserted or reordered" in p
        for p in problems
    )


def test_reordered_records_are_named(log_path: Path) -> None:
    write_apply(log_path, "agency.security", "account[1].settings")
    lines = lines_of(log_path)
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(log_path, lines)
    problems = verify_log(log_path).problems
    assert any(p.startswith("line 2: prev does not match") for p in problems)
    assert any(p.startswith("line 3: prev does not match") for p in problems)


def test_records_removed_from_the_start_are_named(log_path: Path) -> None:
    write_apply(log_path, "agency.security", "account[1].settings")
    rewrite(log_path, lines_of(log_path)[2:])
    problems = verify_log(log_path, head_hash=json.loads(lines_of(log_path)[-1])["hash"]).problems
    assert problems == (
        "line 1: prev is not 64 zeros; seq is 3, expected 1: "
        "records were removed from the start of the log",
    )


def test_a_partial_last_line_is_named(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write('{"seq":3,"time":')
    report = verify_log(log_path)
    assert "line 3: partial last line (no newline at the end): a write was cut off" in (
        report.problems
    )
    assert report.records == 2


def test_a_garbage_line_is_named(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    lines = lines_of(log_path)
    rewrite(log_path, [lines[0], "not json\n", lines[1]])
    problems = verify_log(log_path).problems
    assert "line 2: not valid JSON" in problems


def test_a_record_missing_fields_is_named(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    record = json.loads(lines_of(log_path)[0])
    del record["prev"]
    record["seq"] = True
    rewrite(log_path, [json.dumps(record) + "\n"])
    assert verify_log(log_path, head_hash=GENESIS_HASH).problems[0] == (
        "line 1: missing or mistyped fields: prev, seq"
    )


def test_a_started_write_with_no_outcome_is_named(log_path: Path) -> None:
    log = writer(log_path)
    log.started("agency.security", None, None)
    log.finished("agency.security", "applied", None, None)
    log.started("account[1].settings", None, None)
    log.close()
    report = verify_log(log_path)
    assert report.problems == (
        "line 3: outcome unknown — run plan: writing account[1].settings was started "
        "but no outcome was recorded",
    )


def test_an_interrupted_apply_that_records_unknown_verifies(log_path: Path) -> None:
    write_apply(log_path, "agency.security", result="unknown")
    assert verify_log(log_path).ok


# --- the end of the log against a head -------------------------------------------------


def test_records_cut_from_the_end_are_found_with_the_head_file(log_path: Path) -> None:
    write_apply(log_path, "agency.security", "account[1].settings")
    rewrite(log_path, lines_of(log_path)[:2])
    report = verify_log(log_path)
    assert not report.ok
    assert report.problems[-1].startswith("records cut from the end: audit.head says 4 records")


def test_records_cut_from_the_end_are_found_with_a_head_hash(log_path: Path) -> None:
    head = write_apply(log_path, "agency.security", "account[1].settings")
    head_path(log_path).unlink()
    rewrite(log_path, lines_of(log_path)[:2])
    report = verify_log(log_path, head_hash=head.hash.upper())
    assert report.problems == (
        f"head {head.hash} is not in the log: records were cut from the end, "
        "or the head belongs to another log",
    )


def test_the_log_must_end_exactly_at_the_head(log_path: Path) -> None:
    first = write_apply(log_path, "agency.security")
    write_apply(log_path, "account[1].settings")
    report = verify_log(log_path, head_hash=first.hash)
    assert report.problems == (
        "the log continues past the given head: 2 records after line 2 "
        "(an apply that ended before writing its head, or records added)",
    )


def test_a_head_file_that_lags_the_log_is_a_problem(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    head_file = head_path(log_path)
    lagging = head_file.read_text()
    write_apply(log_path, "account[1].settings")
    head_file.write_text(lagging)
    assert verify_log(log_path).problems == (
        "the log continues past audit.head: 2 records after line 2 "
        "(an apply that ended before writing its head, or records added)",
    )


def test_a_head_file_with_another_hash_is_a_problem(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    head_path(log_path).write_text(json.dumps({"records": 2, "hash": "b" * 64}))
    assert verify_log(log_path).problems[0].startswith("the log does not match audit.head")


def test_an_unreadable_head_file_is_a_problem(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    head_path(log_path).write_text("{")
    assert verify_log(log_path).problems[0].startswith("cannot read audit head")


def test_without_any_head_the_chain_alone_is_checked_with_a_warning(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    head_path(log_path).unlink()
    rewrite(log_path, lines_of(log_path)[:1])  # a cut that nothing can reveal
    report = verify_log(log_path)
    assert report.problems == (
        "line 1: outcome unknown — run plan: writing agency.security was started "
        "but no outcome was recorded",
    )
    assert report.warnings == (
        "no audit.head beside the log and no --head given: records cut from the end "
        "of the log cannot be detected",
    )


def test_verify_bytes_checks_the_bytes_it_is_given_and_reads_no_file(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    data, head = log_path.read_bytes(), head_path(log_path).read_bytes()
    expected = verify_log(log_path)
    log_path.unlink()
    head_path(log_path).unlink()
    assert verify_bytes(data, head, head_file=head_path(log_path)) == expected
    edited = verify_bytes(data.replace(b'"applied"', b'"failed"', 1), head, head_file=log_path)
    assert not edited.ok and "edited" in edited.problems[0]
    assert verify_bytes(data, None, head_file=log_path).warnings[0].startswith("no audit.head")
    assert (
        verify_bytes(data, b"{", head_file=log_path)
        .problems[0]
        .startswith(f"cannot read audit head {log_path}")
    )


def test_read_log_files_reads_log_and_head_as_one_under_the_log_lock(
    log_path: Path, tmp_path: Path
) -> None:
    write_apply(log_path, "agency.security")
    files = read_log_files(log_path)
    assert files == LogFiles(log_path.read_bytes(), head_path(log_path).read_bytes())
    with LogLock(log_path), pytest.raises(LockError, match="it was not read"):
        read_log_files(log_path)  # an apply is between its first record and its head
    head_path(log_path).unlink()
    assert read_log_files(log_path) == LogFiles(files.log, None)
    nowhere = tmp_path / "nowhere" / "audit.jsonl"
    assert read_log_files(nowhere) == LogFiles(None, None)
    assert not nowhere.parent.exists()  # reading creates no folder


def test_a_malformed_head_hash_is_a_usage_error(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    with pytest.raises(UsageError, match="64 hexadecimal"):
        verify_log(log_path, head_hash="abc")


def test_verifying_a_missing_log_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AuditLogError, match="no audit log at"):
        verify_log(tmp_path / "nope.jsonl")


def test_an_empty_log_verifies_against_an_empty_head(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True)
    log_path.write_text("")
    report = verify_log(log_path, head_hash=GENESIS_HASH)
    assert report.ok
    assert (report.records, report.last_hash) == (0, GENESIS_HASH)


# --- show ------------------------------------------------------------------------------


def test_read_log_returns_records_since_a_time(log_path: Path) -> None:
    write_apply(log_path, "agency.security", "account[1].settings")
    records = read_log(log_path)
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    later = read_log(log_path, since=START + timedelta(seconds=2))
    assert [r["address"] for r in later] == ["account[1].settings"] * 2
    naive = read_log(log_path, since=datetime(2024, 5, 1, 12, 0, 3))
    assert [r["seq"] for r in naive] == [4]


def test_read_log_skips_a_partial_last_line_but_not_garbage(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write('{"seq":3')
    assert len(read_log(log_path)) == 2
    rewrite(log_path, ["garbage\n", *lines_of(log_path)])
    with pytest.raises(AuditLogError, match="line 1: not valid JSON"):
        read_log(log_path)


# --- issue 14: private files, the log's own lock, a full disk, a missing head ----------


def test_the_log_and_its_head_are_private_and_fixed_from_0644(log_path: Path) -> None:
    write_apply(log_path, "agency.security")
    log_path.chmod(0o644)
    head_path(log_path).chmod(0o644)

    write_apply(log_path, "account[1].settings")

    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(head_path(log_path).stat().st_mode) == 0o600


def test_a_log_that_is_a_symbolic_link_is_not_written_through(
    log_path: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text("")
    log_path.parent.mkdir(parents=True)
    log_path.symlink_to(elsewhere)

    with pytest.raises(AuditLogError, match="symbolic link"):
        writer(log_path)
    log_path.unlink()
    log_path.touch()
    head_path(log_path).symlink_to(elsewhere)
    with pytest.raises(AuditLogError, match="symbolic link"):
        check_appendable(log_path)

    assert elsewhere.read_text() == ""


def test_a_second_writer_of_the_same_log_is_refused_while_the_first_is_open(
    log_path: Path,
) -> None:
    with writer(log_path) as first:
        with pytest.raises(LockError, match="appending to the change log"):
            writer(log_path)
        first.started("agency.security", None, {"a": 1})
        first.finished("agency.security", "applied", None, {"a": 1})
    write_apply(log_path, "account[1].settings")  # free again once closed

    assert verify_log(log_path).ok


def test_a_writer_can_use_a_lock_its_caller_holds(log_path: Path) -> None:
    with LogLock(log_path) as lock:
        with writer(log_path, lock=lock) as log:
            log.started("agency.security", None, None)
            log.finished("agency.security", "applied", None, None)
        assert lock.held  # the caller's to release
    with pytest.raises(RuntimeError, match="held"):
        writer(log_path, lock=LogLock(log_path))


def test_writers_in_threads_sharing_one_log_keep_one_chain(log_path: Path) -> None:
    def one_apply(number: int) -> None:
        lock = LogLock(log_path, timeout=10)
        with lock, writer(log_path, lock=lock) as log:
            for item in range(5):
                address = f"account[{number}].user[{item}]"
                log.started(address, None, {"n": item})
                log.finished(address, "applied", None, {"n": item})

    threads = [threading.Thread(target=one_apply, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    report = verify_log(log_path)
    assert report.ok, report.problems
    assert report.records == 40


@pytest.fixture
def full_disk_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    def install(fail_at: int) -> None:
        fill_disk_at(monkeypatch, fail_at)

    return install


def test_a_full_disk_cuts_the_log_back_and_still_writes_the_head(
    log_path: Path, full_disk_at: Callable[[int], None]
) -> None:
    write_apply(log_path, "agency.security")  # 2 records before this apply
    full_disk_at(3)  # this apply's second started record
    log = writer(log_path)
    log.started("account[1].settings", None, {"a": 1})
    log.finished("account[1].settings", "applied", None, {"a": 1})

    with pytest.raises(AuditLogError, match="No space left on device") as caught:
        log.started("account[2].settings", None, {"a": 1})
    assert "cut back to its last whole record (4 records)" in str(caught.value)
    with pytest.raises(AuditLogError, match="could not be written earlier"):
        log.finished("account[2].settings", "failed", None, {"a": 1})
    head = log.close()

    assert log.failure == "No space left on device"
    assert head.records == 4
    assert read_head(head_path(log_path)) == head
    assert log_path.read_bytes().endswith(b"\n")
    report = verify_log(log_path)
    assert report.ok, report.problems
    write_apply(log_path, "account[3].settings")  # the log blocks nothing afterwards
    assert verify_log(log_path).ok


def test_a_full_disk_on_an_outcome_leaves_the_start_open_for_the_next_apply(
    log_path: Path, full_disk_at: Callable[[int], None]
) -> None:
    full_disk_at(2)
    log = writer(log_path)
    log.started("agency.security", None, {"a": 1})
    with pytest.raises(AuditLogError):
        log.finished("agency.security", "applied", None, {"a": 1})
    log.close()

    assert any("outcome unknown" in p for p in verify_log(log_path).problems)
    assert "partial" not in " ".join(verify_log(log_path).problems)


def test_a_non_empty_log_whose_head_is_missing_is_refused(log_path: Path) -> None:
    write_apply(log_path, "agency.security", "account[1].settings")
    head_path(log_path).unlink()
    before = log_path.read_bytes()

    with pytest.raises(AuditLogError, match=r"head .* is missing") as caught:
        writer(log_path)
    with pytest.raises(AuditLogError, match="missing"):
        check_appendable(log_path)

    assert "--accept-missing-head" in str(caught.value)
    assert log_path.read_bytes() == before
    assert not head_path(log_path).exists()
    assert sorted(p.name for p in log_path.parent.iterdir()) == [
        "audit.jsonl",
        "audit.jsonl.lock",
    ]


def test_an_accepted_missing_head_is_recorded_in_the_log(log_path: Path) -> None:
    end = write_apply(log_path, "agency.security")
    head_path(log_path).unlink()

    assert check_appendable(log_path, accept_missing_head=True) == end
    with writer(log_path, accept_missing_head=True) as log:
        log.started("account[1].settings", None, {"a": 1})
        log.finished("account[1].settings", "applied", None, {"a": 1})

    records = read_log(log_path)
    assert [r["result"] for r in records] == [
        "started",
        "applied",
        "accepted_missing_head",
        "started",
        "applied",
    ]
    assert records[2]["address"] == "audit.head"
    assert records[2]["after"] == end.to_json()
    assert verify_log(log_path).ok


def test_an_empty_or_new_log_needs_no_head(log_path: Path) -> None:
    assert check_appendable(log_path) == AuditHead(0, GENESIS_HASH)
    log_path.parent.mkdir(parents=True)
    log_path.write_bytes(b"")

    write_apply(log_path, "agency.security")

    assert verify_log(log_path).ok


def test_records_are_scrubbed_before_they_are_hashed(log_path: Path) -> None:
    register_secret("SECRET-KEY-123456")
    with writer(log_path) as log:
        log.started("agency.security", {"name": "SECRET-KEY-123456"}, None)
        log.finished("agency.security", "failed", None, None, "HTTP 500: SECRET-KEY-123456")

    assert "SECRET-KEY" not in log_path.read_text()
    assert [r["error"] for r in read_log(log_path)] == [None, "HTTP 500: ***"]
    assert verify_log(log_path).ok
