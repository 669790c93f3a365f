"""What goes into an auditor's evidence bundle (SPEC section 13), as a list of files.

Pure: the gathered inputs (``Evidence``) in, ``BundleFile`` values out, in a fixed
order, so the same inputs and evaluation time always give the same bytes. The bundle
answers four questions: what was required (the config and the packs), what was true
(a fresh check report), what changed and who approved it (the change log and the
attestations), and that no one altered any of it (the ``audit verify`` result and the
manifest's SHA-256 of every file).

Layout (``README.md`` explains each file to the auditor)::

    README.md                      for the auditor: what each file shows, which rule it supports
    manifest.json                  every other file with its SHA-256; tool version; evaluation time
    SHA256SUMS                     the same digests for ``sha256sum -c``
    config/<config file name>      the desired-state file, byte for byte
    packs/<pack id>.toml           every loaded pack, byte for byte
    report/check.json|.md|.sarif|.html  the check report (absent only if check cannot run)
    change-log/audit.jsonl         the change log, byte for byte (when there is one)
    change-log/audit.head          its head (when there is one)
    change-log/verify.json         what ``audit verify`` found
    attestations/attestations.json the attestations, their evidence and their results
    attestations/documents/...     the documents they name, when those exist beside the config
    history/...                    earlier JSON reports given with ``--history``
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hipaactl import __version__
from hipaactl.canonical import sha256_hex
from hipaactl.config.model import Attestations
from hipaactl.model.scrub import scrub
from hipaactl.plan.planfile import result_document
from hipaactl.policy.model import Pack, RuleResult
from hipaactl.report.bundle import BundleFile
from hipaactl.report.check import DISCLAIMER, EXIT_ERROR, Report, report_document
from hipaactl.report.history import HistoryFile, with_current
from hipaactl.report.render.html import render_html
from hipaactl.report.render.json import render_json
from hipaactl.report.render.markdown import render_markdown
from hipaactl.report.render.sarif import render_sarif

MANIFEST_FORMAT_VERSION = "1"
README = "README.md"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
LOG_FILE = "change-log/audit.jsonl"
HEAD_FILE = "change-log/audit.head"
VERIFY_FILE = "change-log/verify.json"
ATTESTATIONS_FILE = "attestations/attestations.json"
DOCUMENTS_FOLDER = "attestations/documents"
HISTORY_FOLDER = "history"

ReportRenderer = Callable[[Report], str]
# One renderer per format, the same ones `check --format` uses; HTML also takes the
# --history trend (see _report_files).
REPORT_FILES: Mapping[str, ReportRenderer] = {
    "report/check.json": lambda report: render_json(report_document(report)),
    "report/check.md": render_markdown,
    "report/check.sarif": render_sarif,
}
HTML_REPORT = "report/check.html"

# What each file (or folder, by prefix) shows, and the 45 CFR provisions it supports.
_GUIDE: tuple[tuple[str, str, str], ...] = (
    (
        "config/",
        "The desired-state file: the security settings the organisation requires of CTM, "
        "its attestations and any waivers, as reviewed in git.",
        "164.316(a), 164.316(b)(1)(i) (written policies and procedures)",
    ),
    (
        "packs/",
        "The policy packs the live state was checked against: each rule with its HIPAA "
        "citation and the CTM checklist item it encodes.",
        "164.316(b)(1)(i); 164.308(a)(8) (the standard of the evaluation)",
    ),
    (
        "report/check.json",
        "The check report as data: every rule x resource result, the account scope, and "
        "the users access inventory.",
        "164.308(a)(8) (evaluation); 164.308(a)(3)(ii)(B), 164.308(a)(4) (access "
        "inventory); 164.312 (the technical safeguards checked)",
    ),
    (
        "report/check.md",
        "The same report for people: failures first, with citation and remediation.",
        "164.308(a)(8)",
    ),
    (
        "report/check.sarif",
        "The same report in SARIF 2.1.0, results located at the config key they concern.",
        "164.308(a)(8)",
    ),
    (
        "report/check.html",
        "The same report as one self-contained page: heat map, findings, users, trend.",
        "164.308(a)(8)",
    ),
    (
        LOG_FILE,
        "The hash-chained change log: every write hipaactl made to CTM, with time, actor, "
        "plan digest, before and after values, and outcome. Changes made in CTM's own UI "
        "are not in it; they show up as drift and as check failures.",
        "164.312(b) (audit controls); 164.316(b)(1)(ii) (record of actions); "
        "164.308(a)(1)(ii)(D) (information system activity review)",
    ),
    (
        HEAD_FILE,
        "The head of the change log (record count and last hash): records cut from the "
        "end of the log would not reach it.",
        "164.312(b); 164.316(b)(2)(i) (retention, unaltered)",
    ),
    (
        VERIFY_FILE,
        "What `hipaactl audit verify` found when the bundle was made: the mode checked, "
        "the record count, the last hash, and every problem.",
        "164.312(b); 164.316(b)(2)(i)",
    ),
    (
        ATTESTATIONS_FILE,
        "Facts no API exposes, as attested by a named person (the BAA with "
        "CallTrackingMetrics, individual logins), with dates and their check results.",
        "164.308(b)(1), 164.314(a), 164.502(e), 164.504(e) (BAA); 164.312(a)(2)(i) "
        "(unique user identification)",
    ),
    (
        DOCUMENTS_FOLDER + "/",
        "The documents the attestations name (for example the signed BAA), as found "
        "beside the config.",
        "164.308(b)(1), 164.314(a), 164.316(b)(1)",
    ),
    (
        HISTORY_FOLDER + "/",
        "Earlier check reports (JSON): the evaluation repeated over time.",
        "164.308(a)(8) (periodic evaluation); 164.316(b)(2)(i)",
    ),
    (
        SUMS,
        "The SHA-256 of every other file, for `sha256sum -c SHA256SUMS`.",
        "164.316(b)(2)(i)",
    ),
    (
        MANIFEST,
        "Every other file with its SHA-256 and size, the hipaactl version and the "
        "evaluation time: recompute the digests to show nothing was altered.",
        "164.316(b)(2)(i) (documentation kept six years)",
    ),
)


@dataclass(frozen=True)
class VerifyOutcome:
    """What ``audit verify`` found, or why it could not run. ``mode`` is ``plain``
    (SHA-256 chain), ``keyed`` (HMAC-SHA-256 chain) or ``none`` (no log)."""

    ok: bool
    mode: str
    records: int
    last_hash: str | None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeLogEvidence:
    """The change log as found: ``log_name`` as the config names it (relative to the
    config's folder when inside it); ``log``/``head`` the files' bytes, None when absent."""

    log_name: str
    log: bytes | None
    head: bytes | None
    verify: VerifyOutcome


@dataclass(frozen=True)
class AttestedDocument:
    """A document an attestation names: ``name`` as written in the config. When it exists
    beside the config (in the config's folder or below), ``relative`` is its path from
    there (forward slashes) and ``data`` its bytes; else both are None."""

    name: str
    relative: str | None = None
    data: bytes | None = None

    @property
    def bundle_path(self) -> str | None:
        """Where the document is in the bundle, or None when it is not."""
        if self.relative is None or self.data is None:
            return None
        return f"{DOCUMENTS_FOLDER}/{self.relative}"


@dataclass(frozen=True)
class Evidence:
    """Everything gathered for one bundle. ``report`` is None when live state could not
    be read (``check_error`` says why); ``history`` holds the earlier JSON reports of
    ``--history``, None without it."""

    evaluated_at: dt.datetime
    config_name: str
    config_bytes: bytes
    packs: tuple[tuple[Pack, bytes], ...]
    attestations: Attestations
    documents: tuple[AttestedDocument, ...]
    report: Report | None
    check_error: str | None
    change_log: ChangeLogEvidence
    history: tuple[HistoryFile, ...] | None = None
    warnings: tuple[str, ...] = ()

    @property
    def check_exit_code(self) -> int:
        """What ``check`` would exit with: 1 when live state could not be read."""
        return self.report.exit_code if self.report is not None else EXIT_ERROR

    @property
    def exit_code(self) -> int:
        """``check``'s exit code, or 1 when the change log does not verify (SPEC section 13)."""
        return EXIT_ERROR if not self.change_log.verify.ok else self.check_exit_code


def evaluated_at_text(moment: dt.datetime) -> str:
    """The evaluation time as every file of the bundle writes it (as in the JSON report)."""
    return moment.isoformat(timespec="seconds")


def bundle_files(evidence: Evidence) -> tuple[BundleFile, ...]:
    """The bundle's files in their fixed order: README.md, manifest.json, SHA256SUMS,
    then the rest by path. Raises nothing: every input was read before."""
    content = sorted(_content_files(evidence), key=lambda f: f.path)
    readme = _text(README, render_readme(evidence, [f.path for f in content]))
    manifest = _text(MANIFEST, render_json(manifest_document(evidence, [readme, *content])))
    sums = _text(SUMS, render_sums([readme, manifest, *content]))
    return (readme, manifest, sums, *content)


def render_sums(files: Sequence[BundleFile]) -> str:
    """``SHA256SUMS`` in the format ``sha256sum -c`` reads: ``<hex>  <path>`` per line."""
    return "".join(f"{sha256_hex(f.data)}  {f.path}\n" for f in files)


def _text(path: str, text: str) -> BundleFile:
    """A file hipaactl writes, through the one scrubber like every sink (SPEC section 9);
    copied inputs (config, packs, the log) are kept byte for byte."""
    return BundleFile(path, scrub(text).encode("utf-8"))


def _content_files(evidence: Evidence) -> list[BundleFile]:
    files = [BundleFile(f"config/{evidence.config_name}", evidence.config_bytes)]
    files += [BundleFile(f"packs/{pack.id}.toml", data) for pack, data in evidence.packs]
    if evidence.report is not None:
        files += _report_files(evidence.report, evidence.history)
    log = evidence.change_log
    if log.log is not None:
        files.append(BundleFile(LOG_FILE, log.log))
    if log.head is not None:
        files.append(BundleFile(HEAD_FILE, log.head))
    files.append(_text(VERIFY_FILE, render_json(verify_document(log))))
    files.append(_text(ATTESTATIONS_FILE, render_json(attestations_document(evidence))))
    for doc in evidence.documents:
        if doc.bundle_path is not None and doc.data is not None:
            files.append(BundleFile(doc.bundle_path, doc.data))
    files += [BundleFile(f"{HISTORY_FOLDER}/{h.path}", h.data) for h in evidence.history or ()]
    return files


def _report_files(report: Report, history: Sequence[HistoryFile] | None) -> list[BundleFile]:
    """The report in every format; the HTML page with the trend of ``history`` (earlier
    reports and this run) when ``--history`` was given, as ``check --format html``. The
    trend names each earlier report by its place in the bundle (``history/<path>``),
    not by where it was on the machine that made the bundle."""
    files = [_text(path, render(report)) for path, render in REPORT_FILES.items()]
    trend = None
    if history is not None:
        points = (replace(h.point, source=f"{HISTORY_FOLDER}/{h.path}") for h in history)
        trend = with_current(points, report)
    files.append(_text(HTML_REPORT, render_html(report, trend)))
    return files


# -- the JSON files ---------------------------------------------------------------------


def verify_document(log: ChangeLogEvidence) -> dict[str, Any]:
    """``change-log/verify.json``: ``{"log", "mode", "ok", "records", "last_hash",
    "problems", "warnings"}``."""
    verify = log.verify
    return {
        "log": log.log_name,
        "mode": verify.mode,
        "ok": verify.ok,
        "records": verify.records,
        "last_hash": verify.last_hash,
        "problems": list(verify.problems),
        "warnings": list(verify.warnings),
    }


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def attestations_document(evidence: Evidence) -> dict[str, Any]:
    """``attestations/attestations.json``: each attestation as declared (BAA, individual
    logins, attested facts), the SHA-256 and bundle path of the document the BAA names
    (null when not found beside the config), and the check results that rest on them."""
    attestations = evidence.attestations
    documents = {doc.name: doc for doc in evidence.documents}
    baa = attestations.baa
    logins = attestations.individual_logins
    results = [] if evidence.report is None else evidence.report.results
    return {
        "baa": None
        if baa is None
        else {
            "counterparty": baa.counterparty,
            "effective_on": _iso(baa.effective_on),
            "confirmed_on": _iso(baa.confirmed_on),
            "by": baa.by,
            "document": baa.document,
            **_document_fields(documents.get(baa.document or "")),
        },
        "individual_logins": None
        if logins is None
        else {"confirmed_on": _iso(logins.confirmed_on), "by": logins.by},
        "facts": [
            {"rule_id": f.rule_id, "confirmed_on": _iso(f.confirmed_on), "by": f.by, "note": f.note}
            for f in attestations.facts
        ],
        "max_age_days": attestations.max_age_days,
        "results": [result_document(r) for r in results if _rests_on_attestation(r)],
    }


def _rests_on_attestation(result: RuleResult) -> bool:
    """A result about an attested fact: the BAA, individual logins, or a fact a person
    attested for a rule the API cannot check (status ``attested``)."""
    return result.address.startswith("attestation") or result.status == "attested"


def _document_fields(doc: AttestedDocument | None) -> dict[str, Any]:
    if doc is None or doc.data is None:
        return {"document_sha256": None, "document_file": None}
    return {"document_sha256": sha256_hex(doc.data), "document_file": doc.bundle_path}


def _check_summary(evidence: Evidence) -> dict[str, Any]:
    report = evidence.report
    if report is None:
        return {"exit_code": EXIT_ERROR, "error": evidence.check_error}
    return {
        "exit_code": report.exit_code,
        "conclusion": report.conclusion,
        "summary": report.summary(),
    }


def manifest_document(evidence: Evidence, files: Sequence[BundleFile]) -> dict[str, Any]:
    """``manifest.json``: the tool version, the evaluation time, the exit code, the config
    and packs with their SHA-256, and every other file of the bundle with its SHA-256
    and size in bytes."""
    return {
        "format_version": MANIFEST_FORMAT_VERSION,
        "hipaactl_version": __version__,
        "evaluated_at": evaluated_at_text(evidence.evaluated_at),
        "exit_code": evidence.exit_code,
        "config": {
            "file": f"config/{evidence.config_name}",
            "sha256": sha256_hex(evidence.config_bytes),
        },
        "packs": [
            {
                "id": pack.id,
                "version": pack.version,
                "sha256": pack.sha256,
                "source": pack.source_path,
                "file": f"packs/{pack.id}.toml",
            }
            for pack, _ in evidence.packs
        ],
        "check": _check_summary(evidence),
        "change_log": {
            "ok": evidence.change_log.verify.ok,
            "mode": evidence.change_log.verify.mode,
        },
        "warnings": list(evidence.warnings),
        "files": [
            {"path": f.path, "sha256": sha256_hex(f.data), "bytes": len(f.data)} for f in files
        ],
    }


# -- README.md --------------------------------------------------------------------------


def _guide_for(path: str) -> tuple[str, str]:
    for prefix, shows, supports in _GUIDE:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return shows, supports
    return "", ""


def _guide_rows(paths: Sequence[str]) -> list[str]:
    """One table row per file, or per folder for those whose files all say the same."""
    rows: dict[str, tuple[str, str]] = {}
    for path in [README, MANIFEST, SUMS, *paths]:
        if path == README:
            rows[path] = ("This guide.", "")
            continue
        shows, supports = _guide_for(path)
        rows[path] = (shows, supports)
    return [f"| `{path}` | {shows} | {supports} |" for path, (shows, supports) in rows.items()]


def _status_lines(evidence: Evidence) -> list[str]:
    verify = evidence.change_log.verify
    if evidence.report is not None:
        check = f"- Check of live state: {evidence.report.conclusion}."
    else:
        check = (
            "- Check of live state: could not be run, so this bundle has no report: "
            f"{evidence.check_error}"
        )
    if verify.mode == "none":
        log = "- Change log: none found; no apply has been recorded with this config."
    elif verify.ok:
        log = (
            f"- Change log: verified ({verify.mode} chain), {verify.records} records, "
            f"last hash `{verify.last_hash}`."
        )
    else:
        log = f"- Change log: DOES NOT VERIFY ({verify.mode} chain); see `{VERIFY_FILE}`."
    return [
        f"- Evaluated at: {evaluated_at_text(evidence.evaluated_at)}",
        f"- hipaactl version: {__version__}",
        check,
        log,
        f"- Exit code: {evidence.exit_code} (0 all mandatory checks passed; 3 a mandatory "
        "rule failed or needs an attestation; 1 something could not be read or evaluated, "
        "or the change log does not verify).",
    ]


def render_readme(evidence: Evidence, paths: Sequence[str]) -> str:
    """The auditor's guide: what the bundle is, its status, one row per file saying what
    it shows and which 45 CFR provisions it supports, and how to check it."""
    lines = [
        "# hipaactl evidence bundle",
        "",
        "Documentation of the HIPAA-relevant configuration of a CallTrackingMetrics "
        "agency, kept for six years (45 CFR 164.316(b)(1)-(2)): what was required, what "
        "was true, what changed and who approved it, and the means to show that none of "
        "it was altered.",
        "",
        *_status_lines(evidence),
        "",
        "## Files",
        "",
        "| file | what it shows | supports (45 CFR) |",
        "|---|---|---|",
        *_guide_rows(paths),
        "",
        "## How to check this bundle",
        "",
        "1. In the bundle's folder (unzipped), run `sha256sum -c SHA256SUMS`: every file "
        "must say OK. `manifest.json` lists the same digests with the tool version and "
        "the evaluation time.",
        "2. Compare `config.sha256` in `manifest.json` with the file's digest in the "
        "repository's history, and each pack's `sha256` with the one in the report.",
        "3. Run `hipaactl audit verify change-log/audit.jsonl` (with `HIPAACTL_AUDIT_KEY` "
        "set for a keyed log); compare the head with the one printed by each apply in "
        "the CI logs.",
        "",
        "The change log covers changes made by hipaactl; changes made in CTM's own UI "
        "show up as drift and as check failures, not in the log.",
        "",
        DISCLAIMER,
        "",
    ]
    return "\n".join(lines)
