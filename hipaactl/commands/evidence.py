"""``hipaactl evidence -o PATH``: gather an auditor's evidence bundle and write it.

Gathers the config and packs as loaded, a fresh check report, the change log with its
head and ``audit verify`` result, and the attestations with the documents they name;
``hipaactl.report.evidence`` turns them into files and ``hipaactl.report.bundle`` writes
them (SPEC section 13). The bundle is written in every case once the config loads:
when live state cannot be read it has no report, says why, and the exit code is 1.

The evaluation time is now, or ``$HIPAACTL_EVALUATED_AT`` (ISO 8601 with a time zone)
to rebuild a bundle byte for byte from the same inputs.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hipaactl.apply.audit_key import audit_key
from hipaactl.apply.audit_log import LogFiles, head_path, read_log_files, verify_bytes
from hipaactl.canonical import sha256_hex
from hipaactl.commands.check import report_on, select_packs
from hipaactl.config.load import load_config
from hipaactl.config.model import Config
from hipaactl.errors import AuditLogError, HipaactlError, ProviderError, StateReadError, UsageError
from hipaactl.files import os_error_reason, shown_path
from hipaactl.pipeline import Clock, utc_now
from hipaactl.policy.model import Pack
from hipaactl.policy.packs import pack_file_bytes
from hipaactl.report.bundle import is_zip, occupied, probe_writable, write_bundle
from hipaactl.report.check import Report
from hipaactl.report.evidence import (
    AttestedDocument,
    ChangeLogEvidence,
    Evidence,
    VerifyOutcome,
    bundle_files,
)
from hipaactl.report.history import load_history

EVALUATED_AT_ENV = "HIPAACTL_EVALUATED_AT"


@dataclass(frozen=True)
class EvidenceRequest:
    config: Path
    out: Path  # -o PATH: a folder, or a zip when it ends in .zip
    history: Path | None = None  # --history DIR: earlier JSON reports
    force: bool = False  # replace a non-empty PATH


@dataclass(frozen=True)
class EvidenceResult:
    """The bundle written: what it holds, where, and the SHA-256 to note in CI logs (of
    the zip, or of a folder's ``manifest.json``)."""

    evidence: Evidence
    path: Path
    files: int
    sha256: str


def evaluation_time(environ: Mapping[str, str], clock: Clock) -> dt.datetime:
    """``$HIPAACTL_EVALUATED_AT`` when set (ISO 8601 with an offset or ``Z``), else the
    clock; always aware. Raises UsageError for a value that is not such a time."""
    text = environ.get(EVALUATED_AT_ENV, "").strip()
    if not text:
        return clock()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UsageError(
            f"${EVALUATED_AT_ENV} {text!r} is not an ISO 8601 time with a time zone",
            hint="for example 2026-11-30T09:00:00Z, or unset it to use the current time",
        )
    return moment


def check_target(out: Path, *, force: bool) -> None:
    """Refuse ``-o`` when it is a symbolic link, or holds something and ``--force`` is
    not given. Raises UsageError."""
    if out.is_symlink():
        raise UsageError(f"-o {out} is a symbolic link; hipaactl never writes through one")
    if occupied(out) and not force:
        kind = "a folder that is not empty" if out.is_dir() else "a file"
        raise UsageError(f"-o {out} is {kind}; pass --force to replace it")


def run_evidence(
    request: EvidenceRequest,
    *,
    environ: Mapping[str, str] = os.environ,
    clock: Clock = utc_now,
) -> EvidenceResult:
    """Gather the evidence and write the bundle at ``request.out`` (SPEC section 13).

    ``--history`` is read by ``load_history``, as ``check --history`` reads it: files
    that are not usable reports, and a DIR that is not a folder, are warnings.

    Raises UsageError (bad ``-o`` or evaluation time), ConfigError or PolicyPackError,
    LockError while an apply holds the change log's lock (nothing is written then), and
    HipaactlError when the bundle cannot be written (nothing half-written is left).
    """
    check_target(request.out, force=request.force)
    _probe(request.out)
    evaluated_at = evaluation_time(environ, clock)
    config = load_config(request.config, today=evaluated_at.date())
    packs = select_packs(config, (), Path.cwd())
    history = load_history(request.history) if request.history is not None else None
    history_warnings = history.warnings if history is not None else ()
    # Before live state is read: an apply holding the log's lock stops the run here.
    change_log = gather_change_log(config, key=audit_key(environ))
    report, check_error = _fresh_report(config, packs, evaluated_at)
    documents, document_warnings = attested_documents(config)
    evidence = Evidence(
        evaluated_at=evaluated_at,
        config_name=config.path.name,
        config_bytes=_config_bytes(config),
        packs=tuple((pack, pack_file_bytes(pack, base_dir=config.directory)) for pack in packs),
        attestations=config.attestations,
        documents=documents,
        report=report,
        check_error=check_error,
        change_log=change_log,
        history=history.files if history is not None else None,
        warnings=(
            *(report.warnings if report else ()),
            *history_warnings,
            *document_warnings,
        ),
    )
    files = bundle_files(evidence)
    try:
        write_bundle(request.out, files, stamped=evaluated_at)
    except OSError as exc:
        raise _cannot_write(request.out, exc) from None
    return EvidenceResult(evidence, request.out, len(files), _anchor(request.out))


def _cannot_write(out: Path, exc: OSError) -> HipaactlError:
    return HipaactlError(
        f"cannot write the evidence bundle {out}: {exc.strerror or exc}",
        hint="nothing was written; choose a folder you can write to",
    )


def _probe(out: Path) -> None:
    """Refuse an unwritable ``-o`` before any API call is made."""
    try:
        probe_writable(out)
    except OSError as exc:
        raise _cannot_write(out, exc) from None


def _anchor(out: Path) -> str:
    target = out if is_zip(out) else out / "manifest.json"
    return sha256_hex(target.read_bytes())


def _fresh_report(
    config: Config, packs: tuple[Pack, ...], evaluated_at: dt.datetime
) -> tuple[Report | None, str | None]:
    """The check report at ``evaluated_at``, or None and why live state could not be read:
    the bundle is written either way."""
    try:
        return report_on(config, packs, clock=lambda: evaluated_at), None
    except (ProviderError, StateReadError) as exc:
        return None, str(exc)


def _config_bytes(config: Config) -> bytes:
    """The config file as it was loaded; refuses one edited since (its SHA-256 moved)."""
    try:
        data = config.path.read_bytes()
    except OSError as exc:
        reason = os_error_reason(exc)
        raise HipaactlError(f"cannot read {shown_path(config.path)} again: {reason}") from None
    if sha256_hex(data) != config.sha256:
        raise HipaactlError(
            f"{shown_path(config.path)} changed while the bundle was being made",
            hint="run evidence again",
        )
    return data


def _display_path(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def gather_change_log(config: Config, *, key: bytes | None = None) -> ChangeLogEvidence:
    """The config's change log and head as bytes, with what ``audit verify`` finds in
    those same bytes (keyed mode with ``key``).

    Each file is read once, under the log's own lock (``read_log_files``), so the log
    and head are one state between applies; the bundle holds exactly the bytes that were
    verified, so an apply that starts later changes neither. Raises LockError when an
    apply holds the log's lock (nothing is written then).
    """
    log_path = config.audit_path
    name = _display_path(log_path, config.directory)
    try:
        files = read_log_files(log_path)
    except AuditLogError as exc:
        return ChangeLogEvidence(
            name, None, None, VerifyOutcome(False, "plain", 0, None, (exc.message,))
        )
    return ChangeLogEvidence(name, files.log, files.head, _verify(log_path, name, files, key))


def _verify(log_path: Path, name: str, files: LogFiles, key: bytes | None) -> VerifyOutcome:
    mode = "plain" if key is None else "keyed"
    if files.log is None and files.head is None:
        warning = f"no change log at {name}: no apply has been recorded with this config"
        return VerifyOutcome(True, "none", 0, None, (), (warning,))
    if files.log is None:
        problem = (
            f"the change log {name} is missing, but its head {head_path(log_path).name} is there"
        )
        return VerifyOutcome(False, mode, 0, None, (problem,))
    found = verify_bytes(files.log, files.head, head_file=head_path(log_path), key=key)
    return VerifyOutcome(
        found.ok, found.mode, found.records, found.last_hash, found.problems, found.warnings
    )


def attested_documents(config: Config) -> tuple[tuple[AttestedDocument, ...], tuple[str, ...]]:
    """The documents the attestations name, read when they are files in the config's
    folder (or below it); a warning for each one that is not."""
    baa = config.attestations.baa
    if baa is None or not baa.document:
        return (), ()
    base = config.directory.resolve()
    path = (base / baa.document).resolve()
    try:
        relative = path.relative_to(base).as_posix()
    except ValueError:
        relative = None
    if relative is None or not path.is_file():
        warning = (
            f"the BAA document {baa.document!r} named in [attestations.baa] is not a file "
            f"beside {config.path.name}; the bundle names it without a copy"
        )
        return (AttestedDocument(baa.document),), (warning,)
    try:
        data = path.read_bytes()
    except OSError as exc:
        # Named as the config names it: ``path`` is resolved, to keep it inside the folder.
        shown = shown_path(config.directory / baa.document)
        raise HipaactlError(
            f"cannot read the BAA document {shown}: {os_error_reason(exc)}"
        ) from None
    return (AttestedDocument(baa.document, relative, data),), ()
