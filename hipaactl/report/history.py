"""Earlier check reports for a trend: the status counts of every JSON report in a folder.

``check --history DIR`` (SPEC sections 7 and 13) reads the JSON reports a nightly job
kept (its artifacts, downloaded into DIR, in subfolders or not) and charts their
``summary`` counts over ``run.evaluated_at``; ``evidence --history DIR`` (section 13)
copies the same files into the bundle. Both use ``load_history``, so both skip the same
files with the same words: a file that cannot be read, is not usable JSON (not UTF-8,
not JSON, past the depth and digit limits), or is JSON of another kind is named in a
warning and skipped, and a DIR that is not a folder is a warning too: one bad artifact,
or the first run with none, must not cost the chart or the bundle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipaactl.canonical import DocumentError, parse_json
from hipaactl.files import os_error_reason
from hipaactl.report.check import REPORT_FORMAT_VERSION, Report


@dataclass(frozen=True)
class HistoryPoint:
    """One report's counts: ``counts`` maps a summary bucket (``pass``, ``fail``, ...) to
    its number of results; ``source`` is the file it came from, or "this run"."""

    evaluated_at: dt.datetime
    counts: Mapping[str, int] = field(hash=False)
    source: str


@dataclass(frozen=True)
class HistoryFile:
    """An earlier JSON report: its path relative to the ``--history`` folder (forward
    slashes), its bytes as read (the evidence bundle copies them) and its trend point."""

    path: str
    data: bytes
    point: HistoryPoint


@dataclass(frozen=True)
class History:
    """What ``--history DIR`` holds: the usable reports in path order, and a warning for
    each file skipped (or for a DIR that is not a folder)."""

    files: tuple[HistoryFile, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def points(self) -> tuple[HistoryPoint, ...]:
        """The reports' trend points, oldest first."""
        return tuple(sorted((f.point for f in self.files), key=_when))


class ForeignReportError(ValueError):
    """A JSON file that is not a hipaactl check report of a known format version."""


def load_history(directory: Path) -> History:
    """Every ``*.json`` file under ``directory`` (recursively, in path order), each read
    once: its bytes and its point, whose ``source`` is the file's path as given
    (``directory`` joined with the relative path).

    Never raises. A file that cannot be read, is not usable JSON, or is not a check
    report of format_version 1 is skipped with a warning naming it; a ``directory`` that
    does not exist or is not a folder is a warning and no reports (the first nightly or
    monthly run has no earlier reports; the page still shows this run).
    """
    if not directory.is_dir():
        problem = "not a folder" if directory.exists() else "no such folder"
        return History((), (f"--history {directory}: {problem}; the trend shows this run only",))
    files, warnings = [], []
    for path in sorted(directory.rglob("*.json")):
        try:
            files.append(read_file(path, directory))
        except OSError as exc:
            warnings.append(f"--history: cannot read {path}: {os_error_reason(exc)}; skipped")
        except DocumentError as exc:  # not UTF-8, not JSON, past the depth and digit limits
            warnings.append(f"--history: {path} is not usable JSON ({exc}); skipped")
        except ForeignReportError as exc:
            problem = f"is not a hipaactl check JSON report ({exc})"
            warnings.append(f"--history: {path} {problem}; skipped")
    return History(tuple(files), tuple(warnings))


def read_file(path: Path, directory: Path) -> HistoryFile:
    """One JSON report under ``directory`` (format_version 1, SPEC section 7), read once
    and parsed with the limits every outside document gets. Raises OSError,
    DocumentError or ForeignReportError."""
    data = path.read_bytes()
    point = point_of(parse_json(data), source=str(path))
    return HistoryFile(path.relative_to(directory).as_posix(), data, point)


def _when(point: HistoryPoint) -> tuple[dt.datetime, str]:
    return (point.evaluated_at, point.source)


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


def with_current(points: Iterable[HistoryPoint], report: Report) -> tuple[HistoryPoint, ...]:
    """The trend's points: the earlier reports' ``points`` and this run, last; an earlier
    report of the same evaluation time (this run's own JSON, kept in the folder) counts
    once."""
    current = HistoryPoint(report.evaluated_at, report.summary(), "this run")
    second = current.evaluated_at.replace(microsecond=0)
    earlier = sorted(
        (p for p in points if p.evaluated_at.replace(microsecond=0) != second), key=_when
    )
    return tuple(sorted([*earlier, current], key=lambda p: p.evaluated_at))
