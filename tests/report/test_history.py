"""Earlier JSON reports for the trend: good ones are read, bad ones named and skipped."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hipaactl.report.check import report_document
from hipaactl.report.history import HistoryPoint, load_history, with_current
from tests.report.render.builders import NOON, mixed_report


def document(at: dt.datetime, **counts: int) -> dict[str, Any]:
    report = report_document(mixed_report(at=at))
    report["summary"].update(counts)
    return report


def write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


def test_reports_in_the_folder_and_below_are_read_oldest_first(tmp_path: Path) -> None:
    write(tmp_path / "b" / "check.json", document(NOON - dt.timedelta(days=1), fail=5))
    write(tmp_path / "a.json", document(NOON - dt.timedelta(days=2), fail=9))
    write(tmp_path / "notes.txt", "not a report, not *.json: not looked at")
    history = load_history(tmp_path)
    assert history.warnings == ()
    assert [p.counts["fail"] for p in history.points] == [9, 5]
    assert [Path(p.source).name for p in history.points] == ["a.json", "check.json"]


def test_unreadable_and_foreign_files_are_named_and_skipped(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", document(NOON))
    broken = write(tmp_path / "broken.json", '{"format_version": "1",')
    plan = write(tmp_path / "plan.json", {"format_version": "1", "changes": []})
    sarif = write(tmp_path / "sarif.json", {"version": "2.1.0", "runs": []})
    future = write(tmp_path / "future.json", {**document(NOON), "format_version": "2"})
    listed = write(tmp_path / "list.json", [1, 2])
    naive = write(tmp_path / "naive.json", document(NOON))
    naive.write_text(naive.read_text().replace("+00:00", ""), encoding="utf-8")
    bad_count = write(tmp_path / "count.json", document(NOON, fail=-1))
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"x": "\xe9"}')
    folder = tmp_path / "folder.json"
    folder.mkdir()

    history = load_history(tmp_path)

    assert [p.source for p in history.points] == [str(good)]
    assert [(f.path, f.data) for f in history.files] == [("good.json", good.read_bytes())]
    named = {
        path: next(w for w in history.warnings if f" {path} " in w or f" {path}:" in w)
        for path in (broken, plan, sarif, future, listed, naive, bad_count, latin, folder)
    }
    assert len(history.warnings) == len(named)
    assert "is not usable JSON (not valid JSON" in named[broken]
    assert "not a hipaactl check JSON report (no run.evaluated_at)" in named[plan]
    assert "format_version is not '1'" in named[sarif] and "format_version" in named[future]
    assert "not a JSON object" in named[listed]
    assert "no time zone" in named[naive]
    assert "summary is not a mapping of status counts" in named[bad_count]
    # Readable, but not UTF-8: the file is there, its content is what is wrong.
    assert (
        named[latin] == f"--history: {latin} is not usable JSON (not valid UTF-8 (byte 7)); skipped"
    )
    assert named[folder] == f"--history: cannot read {folder}: it is a folder, not a file; skipped"
    assert all(w.endswith("; skipped") for w in history.warnings)


def test_a_missing_folder_or_a_file_is_a_warning_and_no_history(tmp_path: Path) -> None:
    history = load_history(tmp_path / "missing")
    assert history.points == () and history.files == ()
    assert history.warnings == (
        f"--history {tmp_path / 'missing'}: no such folder; the trend shows this run only",
    )
    report = write(tmp_path / "report.json", document(NOON))
    assert load_history(report).warnings == (
        f"--history {report}: not a folder; the trend shows this run only",
    )


def test_each_file_is_read_once_for_its_bytes_and_its_point(tmp_path: Path) -> None:
    # The bundle copies the bytes the point was parsed from: one read, no second look.
    write(tmp_path / "z" / "new.json", document(NOON, fail=1))
    write(tmp_path / "a" / "old.json", document(NOON - dt.timedelta(days=1), fail=2))
    history = load_history(tmp_path)
    assert [f.path for f in history.files] == ["a/old.json", "z/new.json"]  # path order
    for file in history.files:
        assert file.data == (tmp_path / file.path).read_bytes()
        assert file.point.source == str(tmp_path / file.path)
    assert [p.counts["fail"] for p in history.points] == [2, 1]  # oldest first


def test_this_run_comes_last_and_its_own_json_counts_once() -> None:
    report = mixed_report(at=NOON.replace(microsecond=123))
    own = HistoryPoint(NOON, report.summary(), "nightly/check.json")
    older = HistoryPoint(NOON - dt.timedelta(days=1), {"pass": 1}, "old.json")
    points = with_current((own, older), report)
    assert [p.source for p in points] == ["old.json", "this run"]


def test_a_hostile_history_file_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    # Every outside document goes through parse_json's depth and digit limits (SPEC
    # section 9 / issue 15); --history files once bypassed them.
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    digits = tmp_path / "digits.json"
    digits.write_text('{"format_version": ' + "9" * 5000 + "}", encoding="utf-8")

    history = load_history(tmp_path)

    assert history.points == ()
    assert len(history.warnings) == 2
    assert all(" is not usable JSON (" in w and w.endswith("; skipped") for w in history.warnings)
