"""The hash-chained change log (SPEC section 6): configuration-change documentation.

Format: a UTF-8 file of JSON lines, one record per event, each line the canonical JSON
of the record (sorted keys, separators ``(",", ":")``, ``ensure_ascii=False``) and a
newline. Every write of an apply gets two records: ``"result": "started"`` before the
API call and ``"applied"``, ``"failed"`` or ``"unknown"`` after it. A record holds:

``seq``               1-based record number within the log
``time``              ISO 8601 UTC with milliseconds, e.g. ``2024-05-01T12:00:00.000Z``
``actor``             ``$HIPAACTL_ACTOR``, else ``user@host``
``hipaactl_version``  the version that wrote the record
``plan_sha256``       the ``changes_sha256`` of the plan being applied
``address``           the resource written, e.g. ``account[1001].settings``
``result``            started | applied | failed | unknown | accepted_missing_head
``before``, ``after`` the change's values (objects, or null)
``error``             null, or the failure's message
``prev``              the previous record's ``hash``; 64 zeros for the first record
``hash``              SHA-256 (hex) of the record's canonical JSON without ``hash``

A chain alone cannot reveal records cut from its end, so every apply ends by writing
``audit.head`` beside the log: ``{"records": N, "hash": "<last hash>"}``. ``verify_log``
checks the log against that head (or a head hash kept elsewhere, e.g. in CI output).

A keyed log (SPEC section 13, ``hipaactl.apply.audit_key``): with ``$HIPAACTL_AUDIT_KEY``
set, each new record carries ``"keyed": true`` and its ``hash`` is an HMAC-SHA-256 under
the key; the head adds ``first_keyed`` (the line of the first keyed record) and ``hmac``
(over records, hash and first_keyed). A plain record after a keyed one, a plain head over
a keyed log, and, with the key set, a plain head at all, fail verification: a keyed log
cannot be turned back into a plain one. Without the key, a writer refuses a keyed log.

A writer that opens a log holding ``started`` records with no outcome (a run that was
killed mid-write) first appends an ``unknown`` outcome for each, copying its address,
values and plan digest, so the gap stays documented and later logs verify clean. A
non-empty log whose head is missing is refused (``check_appendable``) unless the caller
accepts it (``--accept-missing-head``); the writer then first appends an
``accepted_missing_head`` record (address ``audit.head``, ``after`` the end it continued).

Writing (SPEC sections 9 and 13), the API the apply command and the evidence bundle use:

- ``LogLock(log)``: the log's own file lock (``<log>.lock``); configs in different
  directories that share one log take turns under it.
- ``check_appendable(log, accept_missing_head=...)``: read-only; the log's end, or
  AuditLogError saying why an apply must not append to it.
- ``AuditWriter(log, plan_sha256=..., environ=..., lock=held_lock)``: appends records
  (scrubbed of credentials before they are hashed), 0600 and never through a symbolic
  link; a failed write (ENOSPC) cuts the log back to its last whole record and stops
  all later appends; ``close()`` writes the head into space reserved at open.
- ``verify_log``, ``read_log``, ``read_head``, ``record_hash``: reading and checking;
  ``read_log_files`` reads a log and its head as one, under the log's lock, and
  ``verify_bytes`` checks those bytes (the evidence bundle keeps exactly what it checked).
"""

from __future__ import annotations

import getpass
import io
import json
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from hipaactl import __version__
from hipaactl.apply.audit_key import AUDIT_KEY_ENV, audit_key, head_mac, record_mac, same
from hipaactl.apply.held_lock import HeldLock
from hipaactl.canonical import canonical_json, digest, parse_json
from hipaactl.errors import AuditLogError, LockError, UsageError
from hipaactl.files import (
    PRIVATE_MODE,
    ReservedFile,
    open_append,
    os_error_reason,
    write_text_atomic,
)
from hipaactl.model.scrub import scrub_data

AuditResult = Literal["started", "applied", "failed", "unknown", "accepted_missing_head"]
Outcome = Literal["applied", "failed", "unknown"]
RESULTS: tuple[AuditResult, ...] = (
    "started",
    "applied",
    "failed",
    "unknown",
    "accepted_missing_head",
)
OUTCOMES: tuple[Outcome, ...] = ("applied", "failed", "unknown")
VerifyMode = Literal["plain", "keyed"]

GENESIS_HASH = "0" * 64
HEAD_FILE_NAME = "audit.head"
# The address of records about the log itself rather than about a CTM resource.
HEAD_ADDRESS = "audit.head"
LOCK_SUFFIX = ".lock"
# Space kept for audit.head while an apply runs, so a full disk cannot stop it being
# written: one filesystem block, room for the plain head and a keyed one.
HEAD_RESERVED_BYTES = 4096
DEFAULT_LOG_PATH = Path(".hipaactl") / "audit.jsonl"

Clock = Callable[[], datetime]
JsonObject = dict[str, Any]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_NONE = type(None)
# The fields every record must have, with the JSON types each may hold.
_RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "seq": (int,),
    "time": (str,),
    "actor": (str,),
    "hipaactl_version": (str,),
    "plan_sha256": (str,),
    "address": (str,),
    "result": (str,),
    "before": (dict, _NONE),
    "after": (dict, _NONE),
    "error": (str, _NONE),
    "prev": (str,),
    "hash": (str,),
}
_ORPHAN_ERROR = (
    "no outcome was recorded: the run that started this write ended before it could "
    "record one; run plan to see whether it took effect"
)
_KEY_HINT = f"set ${AUDIT_KEY_ENV} to the key the log was written with (the CI secret)"
_FRESH_LOG_HINT = "keep the log as evidence and move it and its audit.head aside to start a new one"


# --- time and identity -----------------------------------------------------------------


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC datetime (the default clock)."""
    return datetime.now(timezone.utc)


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """The inverse of ``format_time``; Python 3.10's ``fromisoformat`` rejects ``Z``."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def user_at_host(environ: Mapping[str, str]) -> str:
    """``user@host`` for the record's actor: $USER, $LOGNAME or $USERNAME, else the
    passwd name, else ``unknown``.
    """
    user = environ.get("USER") or environ.get("LOGNAME") or environ.get("USERNAME")
    if not user:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):  # no passwd entry, e.g. an arbitrary container uid
            user = "unknown"
    return f"{user}@{socket.gethostname()}"


def actor_from(environ: Mapping[str, str]) -> str:
    """Who the log names: ``$HIPAACTL_ACTOR`` (set it in CI), else ``user@host``."""
    actor = environ.get("HIPAACTL_ACTOR", "").strip()
    return actor or user_at_host(environ)


# --- records and the head --------------------------------------------------------------


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 hex of the record's canonical JSON without its ``hash`` key (SPEC section 6)."""
    return digest({key: value for key, value in record.items() if key != "hash"})


def is_keyed(record: Mapping[str, Any]) -> bool:
    """Whether a record was written with the key (``"keyed": true``, SPEC section 13)."""
    return record.get("keyed") is True


def _content_problem(number: int, record: Mapping[str, Any], key: bytes | None) -> str | None:
    """Does the stored hash match the record? A keyed record is checked only with a key."""
    stored = str(record["hash"])
    if not is_keyed(record):
        if record_hash(record) == stored:
            return None
        return f"line {number}: record was edited: its hash does not match its content"
    if key is None or same(record_mac(record, key), stored):
        return None
    return (
        f"line {number}: keyed record does not match its HMAC: it was edited, or re-chained "
        "by someone without the key (or the key is not the one the log was written with)"
    )


def head_path(log_path: Path) -> Path:
    """``audit.head`` beside the log at ``log_path``."""
    return log_path.parent / HEAD_FILE_NAME


@dataclass(frozen=True)
class AuditHead:
    """The external anchor of a log: how many records it has and the last one's hash;
    for a keyed log also the line of its first keyed record and the head's HMAC."""

    records: int
    hash: str
    first_keyed: int | None = None
    hmac: str | None = None

    def to_json(self) -> JsonObject:
        """``{"records": <line count>, "hash": <last record hash>}`` as saved in the head
        file, plus ``first_keyed`` and ``hmac`` for a keyed log."""
        document: JsonObject = {"records": self.records, "hash": self.hash}
        if self.first_keyed is not None:
            document.update(first_keyed=self.first_keyed, hmac=self.hmac)
        return document


def keyed_head(
    records: int, last_hash: str, first_keyed: int | None, key: bytes | None
) -> AuditHead:
    """The head of a log: keyed (with its HMAC) when ``key`` is given and the log has a
    keyed record, plain otherwise."""
    if key is None or first_keyed is None:
        return AuditHead(records, last_hash)
    return AuditHead(
        records, last_hash, first_keyed, head_mac(records, last_hash, first_keyed, key)
    )


def read_head(path: Path) -> AuditHead:
    """Read a head file; AuditLogError if it is unreadable or malformed."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AuditLogError(f"cannot read audit head {path}: {os_error_reason(exc)}") from None
    return parse_head(raw, path)


def parse_head(raw: bytes, path: Path) -> AuditHead:
    """The head in ``raw``, the bytes of the head file at ``path`` (named in errors);
    AuditLogError if it is not JSON or not a head's shape."""
    try:
        data = parse_json(raw)
    except ValueError as exc:  # DocumentError: not JSON, too deep, a number not finite
        raise AuditLogError(f"cannot read audit head {path}: {exc}") from None
    records = data.get("records") if isinstance(data, dict) else None
    last = data.get("hash") if isinstance(data, dict) else None
    valid_count = isinstance(records, int) and not isinstance(records, bool) and records >= 0
    if not valid_count or not isinstance(last, str) or not _HEX64.fullmatch(last):
        raise AuditLogError(
            f'audit head {path} is malformed: expected {{"records": N, "hash": "<sha256>"}}'
        )
    assert isinstance(records, int)  # narrowed above; mypy cannot see through valid_count
    assert isinstance(data, dict)
    first_keyed, head_hmac = data.get("first_keyed"), data.get("hmac")
    if first_keyed is None and head_hmac is None:
        return AuditHead(records, last)
    valid_first = type(first_keyed) is int and first_keyed >= 1
    if not valid_first or not isinstance(head_hmac, str) or not _HEX64.fullmatch(head_hmac):
        raise AuditLogError(
            f"audit head {path} is malformed: a keyed head has first_keyed (a line number) "
            "and hmac (64 hexadecimal characters)"
        )
    assert isinstance(first_keyed, int)
    return AuditHead(records, last, first_keyed, head_hmac)


def write_head(log_path: Path, head: AuditHead) -> Path:
    """Write ``audit.head`` beside the log atomically, so a crash never leaves half a head."""
    target = head_path(log_path)
    write_text_atomic(target, canonical_json(head.to_json()) + "\n")
    return target


def _plain(value: Any) -> Any:
    """Mappings and sequences as JSON objects and arrays (a Change holds read-only ones)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


# --- reading a log ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One complete line of a log: its record when it has a record's shape."""

    number: int
    record: JsonObject | None
    problem: str | None

    @property
    def stored_hash(self) -> str | None:
        return None if self.record is None else str(self.record["hash"])


@dataclass(frozen=True)
class _Scan:
    lines: tuple[_Line, ...]
    partial_tail: bool  # bytes after the last newline: a write that was cut off

    @property
    def last_hash(self) -> str:
        if not self.lines:
            return GENESIS_HASH
        return self.lines[-1].stored_hash or GENESIS_HASH

    @property
    def first_keyed(self) -> int | None:
        """The line of the first keyed record, or None."""
        return next(
            (line.number for line in self.lines if line.record and is_keyed(line.record)), None
        )

    @property
    def has_keyed(self) -> bool:
        return self.first_keyed is not None

    def hash_at(self, number: int) -> str | None:
        if number == 0:
            return GENESIS_HASH
        if number > len(self.lines):
            return None
        return self.lines[number - 1].stored_hash


def _read_optional(path: Path, what: str) -> bytes | None:
    """The bytes of ``path``, or None when there is no such file; AuditLogError naming
    ``what`` it is when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditLogError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise AuditLogError(
            f"no audit log at {path}", hint="pass the log's path, or set [audit] path"
        ) from exc
    except OSError as exc:
        raise AuditLogError(f"cannot read audit log {path}: {exc.strerror or exc}") from exc


def _parse_line(number: int, raw: bytes, key: bytes | None) -> _Line:
    try:
        data = parse_json(raw)
    except ValueError as exc:  # DocumentError: syntax, nesting, a number of 5,000 digits
        detail = str(exc)
        problem = "not valid JSON" if detail.startswith("not valid") else detail
        return _Line(number, None, f"line {number}: {problem}")
    if not isinstance(data, dict):
        return _Line(number, None, f"line {number}: not a JSON object")
    bad = sorted(
        name
        for name, types in _RECORD_FIELDS.items()
        if not isinstance(data.get(name, ...), types) or isinstance(data.get(name), bool)
    )
    if bad:
        return _Line(number, None, f"line {number}: missing or mistyped fields: {', '.join(bad)}")
    if data["result"] not in RESULTS:
        return _Line(number, None, f"line {number}: unknown result {data['result']!r}")
    if "keyed" in data and data["keyed"] is not True:
        return _Line(number, None, f"line {number}: keyed is {data['keyed']!r}, not true")
    # Keep an edited record: its stored hash still anchors the next record's prev.
    return _Line(number, data, _content_problem(number, data, key))


def _scan(data: bytes, key: bytes | None = None) -> _Scan:
    *complete, tail = data.split(b"\n")
    lines = tuple(_parse_line(number, raw, key) for number, raw in enumerate(complete, start=1))
    return _Scan(lines, partial_tail=bool(tail))


def _chain_problem(line: _Line, previous: _Line | None) -> str | None:
    """Does this record follow the one before it? None when that one is unreadable."""
    assert line.record is not None
    if previous is None:
        expected_prev, expected_seq = GENESIS_HASH, 1
        cause = "records were removed from the start of the log"
    elif previous.record is None:
        return None
    else:
        expected_prev, expected_seq = str(previous.record["hash"]), previous.record["seq"] + 1
        cause = "a record was removed, inserted or reordered"
    found: list[str] = []
    if line.record["prev"] != expected_prev:
        found.append(
            "prev is not 64 zeros"
            if previous is None
            else f"prev does not match the hash of line {previous.number}"
        )
    if line.record["seq"] != expected_seq:
        found.append(f"seq is {line.record['seq']}, expected {expected_seq}")
    return f"line {line.number}: {'; '.join(found)}: {cause}" if found else None


def _open_starts(lines: Sequence[_Line]) -> list[_Line]:
    """``started`` records with no later outcome for the same address, in log order."""
    pending: dict[str, _Line] = {}
    for line in lines:
        if line.record is None:
            continue
        address = str(line.record["address"])
        if line.record["result"] == "started":
            pending[address] = line
        else:
            pending.pop(address, None)
    return sorted(pending.values(), key=lambda line: line.number)


# --- verify ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    """What ``audit verify`` found. ``records`` counts complete lines; ``last_hash`` is the
    stored hash of the last one (64 zeros for an empty log). ``mode`` is ``keyed`` when
    a key was given (HMACs checked), else ``plain`` (SHA-256; keyed records' contents
    not checked)."""

    ok: bool
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    records: int
    last_hash: str
    mode: VerifyMode = "plain"


def verify_log(
    path: Path, *, head_hash: str | None = None, key: bytes | None = None
) -> VerifyReport:
    """Check the log at ``path``: its chain, its tail, open writes, and its end against a
    head (``verify_bytes``, over the log and ``audit.head`` each read once).

    The head is ``head_hash`` when given (``--head HASH``), else ``audit.head`` beside
    the log. Raises AuditLogError when the log or its head file exists but cannot be
    read, UsageError for a malformed hash.
    """
    head_file = head_path(path)
    data = _read_bytes(path)
    head = None if head_hash is not None else _read_optional(head_file, "audit head")
    return verify_bytes(data, head, head_file=head_file, head_hash=head_hash, key=key)


def verify_bytes(
    data: bytes,
    head: bytes | None,
    *,
    head_file: Path,
    head_hash: str | None = None,
    key: bytes | None = None,
) -> VerifyReport:
    """Check a log given as its bytes ``data``: the chain, the tail, open writes, and the
    end against a head. Reads no file, so what is checked is exactly what the caller
    keeps (the evidence bundle copies these same bytes).

    The head is ``head_hash`` when given (``--head HASH``), else ``head``, the bytes of
    the head file (``head_file`` names it in problems; None: there is none); with
    neither, the chain alone is checked and a warning says so. With ``key``
    (``$HIPAACTL_AUDIT_KEY``), keyed records and a keyed head are checked against their
    HMACs, and a head that is not keyed fails (SPEC section 13). Problems name their
    line and come in line order; those about the end of the log come last. Raises
    UsageError for a malformed ``head_hash``.
    """
    scan = _scan(data, key)
    located = [(line.number, line.problem) for line in scan.lines if line.problem is not None]
    located += _chain_problems(scan.lines)
    located += _downgrade_problems(scan)
    located += [
        (
            line.number,
            f"line {line.number}: outcome unknown — run plan: writing "
            f"{line.record['address']} was started but no outcome was recorded",
        )
        for line in _open_starts(scan.lines)
        if line.record is not None
    ]
    if scan.partial_tail:
        number = len(scan.lines) + 1
        located.append(
            (
                number,
                f"line {number}: partial last line (no newline at the end): a write was cut off",
            )
        )
    end_problems, warnings = _check_end(scan, head, head_file, head_hash, key)
    if key is None and scan.first_keyed is not None:
        warnings.append(
            f"lines {scan.first_keyed}-{len(scan.lines)} are keyed (HMAC-SHA-256): without "
            f"${AUDIT_KEY_ENV} their order was checked, not their contents"
        )
    problems = [message for _, message in sorted(located)] + end_problems
    return VerifyReport(
        ok=not problems,
        problems=tuple(problems),
        warnings=tuple(warnings),
        records=len(scan.lines),
        last_hash=scan.last_hash,
        mode="plain" if key is None else "keyed",
    )


def _downgrade_problems(scan: _Scan) -> list[tuple[int, str]]:
    """Every plain record after the first keyed one: once keyed, a log stays keyed."""
    first = scan.first_keyed
    if first is None:
        return []
    return [
        (
            line.number,
            f"line {line.number}: a plain record after the keyed record at line {first}: "
            "records were forged without the key, or the log was downgraded",
        )
        for line in scan.lines
        if line.record is not None and line.number > first and not is_keyed(line.record)
    ]


def _chain_problems(lines: Sequence[_Line]) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    previous: _Line | None = None
    for line in lines:
        if line.record is not None:
            problem = _chain_problem(line, previous)
            if problem is not None:
                problems.append((line.number, problem))
        previous = line
    return problems


def _check_end(
    scan: _Scan, raw_head: bytes | None, head_file: Path, head_hash: str | None, key: bytes | None
) -> tuple[list[str], list[str]]:
    if head_hash is not None:
        return _check_head_hash(scan, _valid_head_hash(head_hash)), []
    if raw_head is None:
        return [], [
            f"no {HEAD_FILE_NAME} beside the log and no --head given: records cut from "
            "the end of the log cannot be detected"
        ]
    try:
        head = parse_head(raw_head, head_file)
    except AuditLogError as exc:
        return [exc.message], []
    keying_problems, warnings = _check_head_keying(scan, head, key)
    return _check_head(scan, head) + keying_problems, warnings


def _check_head_keying(
    scan: _Scan, head: AuditHead, key: bytes | None
) -> tuple[list[str], list[str]]:
    """A keyed log needs a keyed head whose ``first_keyed`` is right, and, with the key,
    whose HMAC matches; with the key set, a plain head fails (a downgraded log)."""
    first = scan.first_keyed
    if head.first_keyed is None:
        if first is not None and first <= head.records:
            return [
                f"{HEAD_FILE_NAME} is plain, but the log is keyed from line {first}: the "
                "head was replaced by one written without the key"
            ], []
        if key is not None and head.records > 0:
            return [
                f"{HEAD_FILE_NAME} is not keyed, but ${AUDIT_KEY_ENV} is set: the log was "
                "written without the key, or downgraded (if no apply has run with the key "
                "yet, verify it without the key)"
            ], []
        return [], []
    problems = []
    if first != head.first_keyed:
        found = f"it is line {first}" if first is not None else "no record is keyed"
        problems.append(
            f"{HEAD_FILE_NAME} says the first keyed record is line {head.first_keyed}, but "
            f"{found}: the log was downgraded or replaced"
        )
    if key is None:
        return problems, [f"{HEAD_FILE_NAME} is keyed: its HMAC was not checked without the key"]
    if not same(head_mac(head.records, head.hash, head.first_keyed, key), head.hmac or ""):
        problems.append(
            f"the HMAC of {HEAD_FILE_NAME} does not match: the head was edited, or written "
            "with another key"
        )
    return problems, []


def _valid_head_hash(text: str) -> str:
    value = text.strip().lower()
    if not _HEX64.fullmatch(value):
        raise UsageError(f"--head {text!r} is not a SHA-256 digest (64 hexadecimal characters)")
    return value


def _check_head(scan: _Scan, head: AuditHead) -> list[str]:
    count = len(scan.lines)
    if head.records > count:
        return [
            f"records cut from the end: {HEAD_FILE_NAME} says {head.records} records "
            f"(last hash {head.hash}), the log has {count}"
        ]
    if scan.hash_at(head.records) != head.hash:
        return [
            f"the log does not match {HEAD_FILE_NAME}: line {head.records} should have "
            f"hash {head.hash}; the log was edited or replaced"
        ]
    if head.records < count:
        return [_past_head(head.records, count, HEAD_FILE_NAME)]
    return []


def _check_head_hash(scan: _Scan, head_hash: str) -> list[str]:
    if scan.last_hash == head_hash:
        return []
    matches = [line.number for line in scan.lines if line.stored_hash == head_hash]
    if head_hash == GENESIS_HASH:
        matches = [0]
    if matches:
        return [_past_head(matches[-1], len(scan.lines), "the given head")]
    return [
        f"head {head_hash} is not in the log: records were cut from the end, "
        "or the head belongs to another log"
    ]


def _past_head(head_records: int, count: int, head_name: str) -> str:
    return (
        f"the log continues past {head_name}: {count - head_records} records after line "
        f"{head_records} (an apply that ended before writing its head, or records added)"
    )


# --- show ------------------------------------------------------------------------------


def read_log(path: Path, since: datetime | None = None) -> list[JsonObject]:
    """The records of a log in order, those at or after ``since`` when given.

    A partial last line (a cut-off write) is left out; ``verify_log`` reports it. Any
    other unreadable line raises AuditLogError naming it. Nothing is verified here.
    """
    scan = _scan(_read_bytes(path))
    records: list[JsonObject] = []
    for line in scan.lines:
        if line.record is None:
            raise AuditLogError(
                f"cannot show audit log {path}: {line.problem}",
                hint=f"run `hipaactl audit verify {path}`",
            )
        if since is None or _record_time(path, line) >= _aware(since):
            records.append(line.record)
    return records


def _record_time(path: Path, line: _Line) -> datetime:
    assert line.record is not None
    try:
        return parse_time(str(line.record["time"]))
    except ValueError as exc:
        raise AuditLogError(
            f"cannot show audit log {path}: line {line.number}: bad time {line.record['time']!r}"
        ) from exc


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


# --- write -----------------------------------------------------------------------------


def log_lock_path(log_path: Path) -> Path:
    """The lock file of a log: ``<log>.lock`` beside it (``audit.jsonl.lock``)."""
    return log_path.with_name(log_path.name + LOCK_SUFFIX)


class LogLock(HeldLock):
    """Exclusive right to append to one change log, held on the log itself.

    An OS file lock (``filelock``) on ``log_lock_path(log)``, so configs in different
    directories that share one ``[audit] path`` take turns and keep one chain (SPEC
    section 13); the working-directory lock cannot see them. ``timeout`` is how many
    seconds to wait (0: fail at once). Two LogLock objects conflict even within one
    process. ``acquire`` creates the log's folder and the lock file (0600) if needed and
    raises LockError naming the log when another run holds it, or when the lock file
    cannot be created.
    """

    def __init__(self, log_path: Path, *, timeout: float = 0) -> None:
        super().__init__(log_lock_path(log_path), timeout=timeout, mode=PRIVATE_MODE)
        self.log_path = log_path

    def busy_error(self) -> LockError:
        """Another run appends to the log (SPEC section 13): nothing was applied."""
        return LockError(
            f"another hipaactl run is appending to the change log {self.log_path} "
            "(a config sharing its [audit] path); nothing was applied",
            hint=f"wait for it or pass --lock-timeout SECONDS; the lock is {self.path}",
        )


@dataclass(frozen=True)
class LogFiles:
    """A change log and its head as read at one moment: each file's bytes, or None
    when the file does not exist."""

    log: bytes | None
    head: bytes | None


class _ReadLock(LogLock):
    """The log's lock, taken to read the log and its head as one (``read_log_files``)."""

    def busy_error(self) -> LockError:
        """An apply is appending: its log and head are not one state until it ends."""
        return LockError(
            f"another hipaactl run is appending to the change log {self.log_path}; it was not read",
            hint=f"run again when that run is done; the lock is {self.path}",
        )


def read_log_files(log_path: Path) -> LogFiles:
    """The log at ``log_path`` and its ``audit.head``, each read once, under the log's
    own lock (``LogLock``). Every writer holds that lock from before its first record
    until its head is written, so the two are one state between applies: never a log
    from before an apply with the head from after it, nor a record half written.

    A log whose folder does not exist is absent, read without a lock (nothing is
    created). Raises LockError when another run holds the lock (it does not wait) or
    its file cannot be created, AuditLogError when a file exists but cannot be read.
    """
    if not log_path.parent.is_dir():
        return LogFiles(None, None)
    with _ReadLock(log_path):
        return LogFiles(
            _read_optional(log_path, "audit log"), _read_optional(head_path(log_path), "audit head")
        )


def check_appendable(
    path: Path, *, accept_missing_head: bool = False, key: bytes | None = None
) -> AuditHead:
    """The end of the log at ``path`` (an empty head when it does not exist yet), if an
    apply may append to it; AuditLogError naming the damage if not. Read-only: run it
    before reading live state, so a log that would refuse the apply refuses it early.

    Refused: a partial last line, a damaged last record, a log that does not reach its
    ``audit.head``, and a non-empty log whose head file is missing, unless
    ``accept_missing_head`` (``--accept-missing-head``), since records cut from its end
    could no longer be detected; a keyed log without ``key`` (``$HIPAACTL_AUDIT_KEY``),
    and with it, a keyed log or head whose HMAC does not match (SPEC section 13).
    """
    scan = _scan_for_append(path, key, accept_missing_head=accept_missing_head)
    return AuditHead(len(scan.lines), scan.last_hash)


class AuditWriter:
    """The one writer of a log during an apply. Thread-safe: workers share it.

    Opening takes the log's own lock (``lock``, already held by the caller, or one the
    writer takes and releases itself), then checks that the existing log can be
    continued (``check_appendable``), so a damaged or truncated log is never hidden
    under new records. With ``$HIPAACTL_AUDIT_KEY`` in ``environ`` records are keyed
    (HMAC-SHA-256) and so is the head; without it, a keyed log is refused (SPEC section
    13). It then records, before anything else: an
    ``accepted_missing_head`` record when a missing head was accepted, and an
    ``unknown`` outcome for every ``started`` record a killed run left open.

    Each record is written whole, flushed and fsynced before the call returns; if
    ``started`` raises, the write it announces must not be made. A write that fails
    (a full disk: ENOSPC) cuts the log back to its last whole record and raises
    AuditLogError; from then on every append raises at once (``failure`` says why), so
    no change is made that the log cannot document. ``close`` writes ``audit.head``
    into space reserved when the writer opened, so the head is written on a full disk
    too, and returns it; call it at the end of every apply, interrupted or failed
    ones included. Files are 0600 and never written through a symbolic link.
    """

    def __init__(
        self,
        path: Path,
        *,
        plan_sha256: str,
        environ: Mapping[str, str],
        clock: Clock = utc_now,
        version: str = __version__,
        accept_missing_head: bool = False,
        lock: LogLock | None = None,
    ) -> None:
        self.path = path
        self._plan_sha256 = plan_sha256
        self._actor = actor_from(environ)
        self._clock = clock
        self._version = version
        self._lock = threading.Lock()
        self._file: io.FileIO | None = None
        self._closed = False
        self._failure: str | None = None
        self._key = audit_key(environ)
        self._owns_log_lock = lock is None
        if lock is None:
            lock = LogLock(path)
            lock.acquire()
        elif not lock.held:
            raise RuntimeError("AuditWriter needs its LogLock held")
        self._log_lock = lock
        try:
            self._open(accept_missing_head)
        except BaseException:
            self._discard()
            raise

    def _open(self, accept_missing_head: bool) -> None:
        scan = _scan_for_append(self.path, self._key, accept_missing_head=accept_missing_head)
        self._count = len(scan.lines)
        self._last_hash = scan.last_hash
        self._first_keyed = scan.first_keyed
        last = scan.lines[-1].record if scan.lines else None
        self._seq = int(last["seq"]) if last is not None else 0
        # The lock is held: nobody else appends, so the file ends at the last record.
        self._end = self.path.stat().st_size if self.path.exists() else 0
        self._head_space = self._reserve_head()
        if scan.lines and not head_path(self.path).exists():
            # Only reached when accepted: the log says from here on that it was.
            end = AuditHead(self._count, self._last_hash).to_json()
            self._append(HEAD_ADDRESS, "accepted_missing_head", None, end, None, self._plan_sha256)
        for line in _open_starts(scan.lines):
            self._close_orphan(line)

    def _reserve_head(self) -> ReservedFile:
        target = head_path(self.path)
        try:
            return ReservedFile(target, HEAD_RESERVED_BYTES)
        except OSError as exc:
            raise AuditLogError(
                f"cannot write audit head {target}: {exc.strerror or exc}; nothing was applied",
                hint="free space or fix the permissions of the log's folder, then run apply again",
            ) from None

    def __enter__(self) -> AuditWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def head(self) -> AuditHead:
        """The line count and last record hash written so far, for the head file."""
        with self._lock:
            return keyed_head(self._count, self._last_hash, self._first_keyed, self._key)

    @property
    def failure(self) -> str | None:
        """Why the log could not be written (e.g. ``No space left on device``), or None."""
        return self._failure

    def started(
        self, address: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> None:
        """Append a ``started`` record for ``address`` before its write is sent.

        ``before``/``after`` are the resource values. Raises AuditLogError when the line cannot
        be written (then the write must not be sent), RuntimeError after close().
        """
        self._append(address, "started", before, after, None, self._plan_sha256)

    def finished(
        self,
        address: str,
        result: Outcome,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        error: str | None = None,
    ) -> None:
        """Append the outcome record for ``address`` after its write returned.

        ``error`` is the failure text. Raises ValueError for an outcome not in OUTCOMES
        (applied, failed, unknown), AuditLogError when the line cannot be written,
        RuntimeError after close().
        """
        if result not in OUTCOMES:
            raise ValueError(f"an outcome is one of {', '.join(OUTCOMES)}, not {result!r}")
        self._append(address, result, before, after, error, self._plan_sha256)

    def close(self) -> AuditHead:
        """Write ``audit.head`` (atomically) and return it; closing twice is harmless.
        Raises AuditLogError when the head cannot be written."""
        with self._lock:
            head = keyed_head(self._count, self._last_hash, self._first_keyed, self._key)
            if self._closed:
                return head
            self._closed = True
            try:
                self._head_space.commit(canonical_json(head.to_json()) + "\n")
            except OSError as exc:
                raise AuditLogError(
                    f"cannot write audit head {head_path(self.path)}: {exc.strerror or exc}"
                ) from None
            finally:
                self._discard()
            return head

    def _discard(self) -> None:
        """Close the log, drop an unused head reservation, release an own lock."""
        try:
            if self._file is not None:
                self._file.close()
                self._file = None
            head_space = getattr(self, "_head_space", None)
            if head_space is not None:
                head_space.discard()
        finally:
            if self._owns_log_lock:
                self._log_lock.release()

    def _close_orphan(self, line: _Line) -> None:
        record = line.record
        assert record is not None
        self._append(
            str(record["address"]),
            "unknown",
            record["before"],
            record["after"],
            _ORPHAN_ERROR,
            str(record["plan_sha256"]),
        )

    def _append(
        self,
        address: str,
        result: AuditResult,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        error: str | None,
        plan_sha256: str,
    ) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            if self._failure is not None:
                raise AuditLogError(
                    f"the change log {self.path} could not be written earlier "
                    f"({self._failure}); this write was not made"
                )
            record: JsonObject = _plain(
                {
                    "seq": self._seq + 1,
                    "time": format_time(self._clock()),
                    "actor": self._actor,
                    "hipaactl_version": self._version,
                    "plan_sha256": plan_sha256,
                    "address": address,
                    "result": result,
                    "before": before,
                    "after": after,
                    "error": error,
                    "prev": self._last_hash,
                }
            )
            if self._key is not None:
                record["keyed"] = True
            # Credentials never reach the log (SPEC section 9), and the hash covers
            # exactly what verify will read back.
            record = json.loads(canonical_json(scrub_data(record)))
            record["hash"] = (
                record_hash(record) if self._key is None else record_mac(record, self._key)
            )
            self._write_line((canonical_json(record) + "\n").encode("utf-8"))
            self._seq += 1
            self._count += 1
            self._last_hash = record["hash"]
            if self._key is not None and self._first_keyed is None:
                self._first_keyed = self._count

    def _write_line(self, data: bytes) -> None:
        try:
            if self._file is None:
                self._file = open_append(self.path)
            written = 0
            while written < len(data):
                written += self._file.write(data[written:]) or 0
            os.fsync(self._file.fileno())
        except OSError as exc:
            self._failure = exc.strerror or type(exc).__name__
            raise AuditLogError(
                f"cannot write audit log {self.path}: {self._failure}; {self._cut_back()}",
                hint="the write this record announced was not made; free space or fix the "
                "log's location, then run plan to see what is left to do",
            ) from None
        self._end += len(data)

    def _cut_back(self) -> str:
        """Remove the bytes of a record that was only partly written, so the log ends
        at its last whole record; says what it did."""
        if self._file is None:
            return "the log was not changed"
        try:
            os.ftruncate(self._file.fileno(), self._end)
            os.fsync(self._file.fileno())
        except OSError as exc:
            return (
                f"the partly written record could not be removed ({exc.strerror or exc}): "
                f"cut the log back to {self._end} bytes"
            )
        return f"the log was cut back to its last whole record ({self._count} records)"


def _scan_for_append(path: Path, key: bytes | None, *, accept_missing_head: bool) -> _Scan:
    """The existing log, if it is safe to continue; AuditLogError naming the damage if not."""
    for target in (path, head_path(path)):
        if target.is_symlink():
            raise AuditLogError(
                f"{target} is a symbolic link, and hipaactl never writes the change log "
                "through one; refusing to append to it",
                hint="point [audit] path at the real file, or replace the link with it",
            )
    data = _read_bytes(path) if path.exists() else b""
    scan = _scan(data, key)
    verify_hint = f"run `hipaactl audit verify {path}`; {_FRESH_LOG_HINT}"
    if scan.partial_tail:
        raise AuditLogError(
            f"audit log {path} ends with a partial line (line {len(scan.lines) + 1}): "
            "a previous write was cut off; refusing to append to it",
            hint=verify_hint,
        )
    last = scan.lines[-1] if scan.lines else None
    if last is not None and last.problem is not None:
        raise AuditLogError(
            f"the last record of audit log {path} is damaged ({last.problem}); "
            "refusing to append to it",
            hint=verify_hint,
        )
    head_file = head_path(path)
    head = read_head(head_file) if head_file.exists() else None
    _check_key_for_append(path, scan, head, key)
    if head is not None:
        if scan.hash_at(head.records) != head.hash:
            raise AuditLogError(
                f"audit log {path} does not reach its head in {head_file} ({head.records} "
                f"records, hash {head.hash}): records were cut from its end or it was "
                "replaced; refusing to append to it",
                hint=verify_hint,
            )
    elif scan.lines and not accept_missing_head:
        raise AuditLogError(
            f"audit log {path} has {len(scan.lines)} records but its head {head_file} is "
            "missing, so records cut from its end could not be detected; refusing to "
            "append to it",
            hint=(
                f"restore {HEAD_FILE_NAME} (from the audit-log branch or a CI log: check "
                f"with `hipaactl audit verify {path} --head HASH`), or pass "
                "--accept-missing-head to continue the log as it is (the log records that "
                "you did)"
            ),
        )
    return scan


def _check_key_for_append(
    path: Path, scan: _Scan, head: AuditHead | None, key: bytes | None
) -> None:
    """Without the key, a keyed log is refused (its records could not be continued); with
    it, a keyed head must carry the right HMAC, and a keyed log a keyed head. A plain log
    with a plain head may be continued with the key: from then on it is keyed."""
    keyed = scan.first_keyed is not None or (head is not None and head.first_keyed is not None)
    if key is None:
        if keyed:
            raise AuditLogError(
                f"audit log {path} is keyed (HMAC-SHA-256) and ${AUDIT_KEY_ENV} is not set; "
                "refusing to append plain records to it",
                hint=_KEY_HINT,
            )
        return
    if head is None:
        return
    problems, _ = _check_head_keying(scan, head, key)
    if (head.first_keyed is not None or scan.first_keyed is not None) and problems:
        raise AuditLogError(
            f"audit log {path} cannot be continued: {problems[0]}; refusing to append to it",
            hint=f"run `hipaactl audit verify {path}` with the key; {_FRESH_LOG_HINT}",
        )
