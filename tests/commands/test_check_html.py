"""``hipaactl check --format html`` end to end through the real CLI, on a copy of
examples/clinic: the page, the trend from the nightly job's JSON reports, bad history
files, and an output file that cannot be written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from hipaactl.cli import main
from tests.report.render.test_html import flat, parse

CLINIC_ACCOUNTS = (1001, 1002, 1003)


def run(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def backdate(path: Path, days: int) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    at = dt.datetime.fromisoformat(document["run"]["evaluated_at"]) - dt.timedelta(days=days)
    document["run"]["evaluated_at"] = at.isoformat(timespec="seconds")
    path.write_text(json.dumps(document), encoding="utf-8")


def test_html_report_with_trend_from_earlier_json_reports(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = clinic / "history"
    for days in (2, 1):
        out = history / f"run-{days}" / "check.json"
        assert run("check", "--format", "json", "-o", str(out)) == 3
        backdate(out, days)
    (history / "notes.json").write_text("{}", encoding="utf-8")
    capsys.readouterr()

    code = run("check", "--format", "html", "-o", "report.html", "--history", "history")

    assert code == 3
    err = capsys.readouterr().err
    assert "warning: --history: history/notes.json is not a hipaactl check JSON report" in err
    assert "Wrote the html report to report.html." in err
    page = (clinic / "report.html").read_text(encoding="utf-8")
    dom = parse(page)
    rows = [flat(th.text()) for th in dom.by_id("heatmap").find_all("th", scope="row")]
    for account_id in CLINIC_ACCOUNTS:
        assert any(row.startswith(f"{account_id} ") for row in rows)
    trend = dom.by_id("trend")
    (fail,) = [g for g in trend.find_all("g") if g.attrs["data-status"] == "fail"]
    assert len(fail.find_all("circle")) == 3
    sources = flat(trend.find_all("table")[0].text())
    assert "run-2/check.json" in sources and "this run" in sources


def test_html_goes_to_stdout_without_o(clinic: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", "--format", "html") == 3
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert 'id="trend"' not in out


def test_history_needs_the_html_format(clinic: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (clinic / "history").mkdir()
    assert run("check", "--format", "json", "--history", "history") == 1
    captured = capsys.readouterr()
    assert "--history draws a trend chart: it needs --format html" in captured.err
    assert captured.out == ""


def test_a_missing_history_folder_is_a_warning_and_the_page_is_written(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("check", "--format", "html", "-o", "report.html", "--history", "nowhere") == 3
    err = capsys.readouterr().err
    assert "warning: --history nowhere: no such folder; the trend shows this run only" in err
    trend = parse((clinic / "report.html").read_text(encoding="utf-8")).by_id("trend")
    assert "a trend needs earlier JSON reports" in flat(trend.text())


@pytest.mark.parametrize("target", ["a-folder", "a-file/report.html"])
def test_an_unwritable_output_is_a_clear_error_and_leaves_nothing_behind(
    clinic: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    (clinic / "a-folder").mkdir()
    (clinic / "a-folder" / "kept.txt").write_text("kept", encoding="utf-8")
    (clinic / "a-file").write_text("kept", encoding="utf-8")
    before = sorted(p.relative_to(clinic) for p in clinic.rglob("*") if ".hipaactl" not in p.parts)

    assert run("check", "--format", "html", "-o", target) == 1

    captured = capsys.readouterr()
    assert f"cannot write {target}: " in captured.err and "Traceback" not in captured.err
    after = sorted(p.relative_to(clinic) for p in clinic.rglob("*") if ".hipaactl" not in p.parts)
    assert after == before
    assert (clinic / "a-file").read_text(encoding="utf-8") == "kept"
