"""Earlier check reports for a trend: the status counts of every JSON report in a folder.

``check --history DIR`` (SPEC sections 7 and 13) reads the JSON reports a nightly job
kept (its artifacts, downloaded into DIR, in subfolders or not) and charts their
``summary`` counts over ``run.evaluated_at``. A file that cannot be read, is not JSON, or
is JSON of another kind is named in a warning and skipped: one bad artifact must not
cost the whole chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipaactl.canonical import DocumentError, parse_json
from hipaactl.report.check import REPORT_FORMAT_VERSION, Report


@dataclass(frozen=True)
class HistoryPoint:
    """One report's counts: ``counts`` maps a summary bucket (``pass``, ``fail``, ...) to
    its number of results; ``source`` is the file it came from, or "this run"."""

    evaluated_at: dt.datetime
    counts: Mapping[str, int] = field(hash=False)
    source: str


@dataclass(frozen=True)
class History:
    points: tuple[HistoryPoint, ...]  # oldest first
    warnings: tuple[str, ...] = ()


class ForeignReportError(ValueError):
    """A JSON file that is not a hipaactl check report of a known format version."""


def load_history(directory: Path) -> History:
    """Every ``*.json`` file under ``directory`` (recursively), sorted by evaluation time.

    Never raises: a bad file is a warning, and so is a missing folder (the first nightly
    run has no earlier reports; the page still shows this run).
    """
    if not directory.is_dir():
        return History(
            (), (f"--history {directory}: no such folder; the trend shows this run only",)
        )
    points, warnings = [], []
    for path in sorted(directory.rglob("*.json")):
        try:
            points.append(read_point(path))
        except (OSError, UnicodeDecodeError) as exc:
            warnings.append(f"--history: cannot read {path}: {_reason(exc)}; skipped")
        except DocumentError as exc:  # not JSON, or past the depth and digit limits
            warnings.append(f"--history: {path} is not JSON ({exc}); skipped")
        except ForeignReportError as exc:
            problem = f"is not a hipaactl check JSON report ({exc})"
            warnings.append(f"--history: {path} {problem}; skipped")
    points.sort(key=lambda p: (p.evaluated_at, p.source))
    return History(tuple(points), tuple(warnings))


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def read_point(path: Path) -> HistoryPoint:
    """The counts of one JSON report (format_version 1, SPEC section 7), parsed with the
    limits every outside document gets. Raises OSError, UnicodeDecodeError,
    DocumentError or ForeignReportError."""
    document = parse_json(path.read_text(encoding="utf-8"))
    return point_of(document, source=str(path))


def point_of(document: Any, *, source: str) -> HistoryPoint:
    """The counts and time of a parsed JSON report; raises ForeignReportError, naming
    what is missing, for anything else."""
    if not isinstance(document, dict):
        raise ForeignReportError("not a JSON object")
    if document.get("format_version") != REPORT_FORMAT_VERSION:
        raise ForeignReportError(f"format_version is not {REPORT_FORMAT_VERSION!r}")
    run, summary = document.get("run"), document.get("summary")
    if not isinstance(run, dict) or not isinstance(run.get("evaluated_at"), str):
        raise ForeignReportError("no run.evaluated_at")
    if not isinstance(summary, dict) or not all(
        isinstance(k, str) and type(v) is int and v >= 0 for k, v in summary.items()
    ):
        raise ForeignReportError("summary is not a mapping of status counts")
    try:
        evaluated_at = dt.datetime.fromisoformat(run["evaluated_at"])
    except ValueError:
        raise ForeignReportError("run.evaluated_at is not an ISO 8601 time") from None
    if evaluated_at.tzinfo is None:
        raise ForeignReportError("run.evaluated_at has no time zone")
    return HistoryPoint(evaluated_at, dict(summary), source)


def with_current(history: History, report: Report) -> tuple[HistoryPoint, ...]:
    """The trend's points: the earlier reports and this run, last; an earlier report of
    the same evaluation time (this run's own JSON, kept in the folder) counts once."""
    current = HistoryPoint(report.evaluated_at, report.summary(), "this run")
    second = current.evaluated_at.replace(microsecond=0)
    earlier = [p for p in history.points if p.evaluated_at.replace(microsecond=0) != second]
    return tuple(sorted([*earlier, current], key=lambda p: p.evaluated_at))
