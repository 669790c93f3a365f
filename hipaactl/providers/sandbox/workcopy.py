"""The embedded sandbox's working copy: ``.hipaactl/sandbox/state.json`` in a work dir.

One working copy per directory, shared by every config file in it. The first run copies
the seed in; every write of the sandbox backend saves it again (atomically). The file is
JSON of this shape::

    {"format": 1,
     "seed": "/abs/path/to/sandbox/agency.json",   # where it was seeded from (informative)
     "seed_sha256": "<hex SHA-256 of the seed file's bytes>",
     "state": {"agency": {...}, "accounts": [...]}}  # the sandbox document

A config whose seed has another digest than the one recorded is refused: two configs with
different seeds must not silently share (and corrupt) one sandbox. ``hipaactl sandbox
reset`` starts over from the config's seed. The default seed, used when a config names
none, is the clinic example shipped in the package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipaactl.canonical import DocumentError, parse_json
from hipaactl.errors import HipaactlError, ProviderError
from hipaactl.files import os_error_reason, shown_path
from hipaactl.providers.sandbox.backend import (
    Document,
    SandboxDocumentError,
    check_document,
    write_json_atomic,
)
from hipaactl.resources import package_data_dir

WORKING_COPY = Path(".hipaactl") / "sandbox" / "state.json"
FORMAT = 1
RESET_HINT = (
    "run `hipaactl sandbox reset` to start over from this config's seed (discarding "
    "changes made in the sandbox), or keep configs with different seeds in different "
    "directories"
)


class SandboxStateError(HipaactlError):
    """The sandbox seed or working copy is unreadable, or belongs to another seed."""


def example_dir(name: str = "clinic") -> Path:
    """The folder of a shipped example (``hipaa.toml`` and ``sandbox/agency.json``)."""
    path = package_data_dir("_examples") / name
    if not path.is_dir():
        raise SandboxStateError(f"hipaactl ships no example named {name!r}")
    return path


def default_seed_path() -> Path:
    """The seed used when a config names none: the clinic example's agency."""
    return example_dir("clinic") / "sandbox" / "agency.json"


def working_copy_path(work_dir: Path) -> Path:
    """``<work_dir>/.hipaactl/sandbox/state.json``, the sandbox working copy."""
    return work_dir / WORKING_COPY


@dataclass
class WorkingCopy:
    """The loaded working copy; ``save`` is the backend's store."""

    path: Path
    seed: str
    seed_sha256: str
    document: Document = field(repr=False)

    def save(self, document: Mapping[str, Any]) -> None:
        """Write the state, with its seed and seed digest, atomically; raises ProviderError
        when it cannot be written.
        """
        wrapper = {
            "format": FORMAT,
            "seed": self.seed,
            "seed_sha256": self.seed_sha256,
            "state": document,
        }
        try:
            write_json_atomic(self.path, wrapper)
        except OSError as err:
            # A provider failure: the change is reported failed, and the next run re-reads.
            raise ProviderError(
                f"cannot save the sandbox working copy {shown_path(self.path)}: "
                f"{os_error_reason(err)}",
                hint="check that the folder is writable and the disk is not full",
            ) from None


def open_working_copy(work_dir: Path, seed: Path | None) -> WorkingCopy:
    """The working copy of ``work_dir``, created from ``seed`` on first use.

    Raises ``SandboxStateError`` when it was seeded from a file with other contents.
    """
    seed_path = seed or default_seed_path()
    seed_bytes = _read_seed_bytes(seed_path)
    digest = hashlib.sha256(seed_bytes).hexdigest()
    path = working_copy_path(work_dir)
    if not path.exists():
        copy = WorkingCopy(path, str(seed_path), digest, _parse_document(seed_bytes, seed_path))
        copy.save(copy.document)
        return copy
    copy = _load(path)
    if copy.seed_sha256 != digest:
        if Path(copy.seed) == seed_path.absolute():
            # One name on both sides of "not from" read as a contradiction: say what moved.
            source = (
                f"{shown_path(seed_path)} when it held other contents "
                f"(sha256 {copy.seed_sha256[:12]}…, now {digest[:12]}…): the seed file "
                "changed since"
            )
        else:
            source = (
                f"{shown_path(Path(copy.seed))} (sha256 {copy.seed_sha256[:12]}…), "
                f"not from {shown_path(seed_path)} (sha256 {digest[:12]}…)"
            )
        raise SandboxStateError(
            f"the sandbox working copy {shown_path(path)} was seeded from {source}",
            hint=RESET_HINT,
        )
    return copy


def reset_working_copy(work_dir: Path, seed: Path | None) -> Path:
    """Replace the working copy of ``work_dir`` with a fresh copy of ``seed``; returns
    its path. The caller holds the work dir's lock, so no apply writes meanwhile."""
    seed_path = seed or default_seed_path()
    seed_bytes = _read_seed_bytes(seed_path)
    document = _parse_document(seed_bytes, seed_path)
    path = working_copy_path(work_dir)
    WorkingCopy(path, str(seed_path), hashlib.sha256(seed_bytes).hexdigest(), document).save(
        document
    )
    return path


def _read_seed_bytes(seed: Path) -> bytes:
    try:
        return seed.read_bytes()
    except OSError as err:
        raise SandboxStateError(
            f"cannot read the sandbox seed {shown_path(seed)}: {os_error_reason(err)}",
            hint="fix [provider] seed in the config (it is relative to the config file)",
        ) from None


def _parse_document(raw: bytes, source: Path) -> Document:
    try:
        document = parse_json(raw)
        check_document(document)
    except (DocumentError, SandboxDocumentError) as err:
        raise SandboxStateError(f"{shown_path(source)}: not a sandbox document: {err}") from None
    result: Document = document
    return result


def _load(path: Path) -> WorkingCopy:
    try:
        data = path.read_bytes()
    except OSError as err:
        # The file could not be read at all: a reset would not help (it writes the same
        # path), and would discard the sandbox's changes if it did.
        raise SandboxStateError(
            f"cannot read the sandbox working copy {shown_path(path)}: {os_error_reason(err)}",
            hint=f"make {shown_path(path)} a file hipaactl can read and write, then run again",
        ) from None
    try:
        wrapper = parse_json(data)
    except DocumentError as err:
        raise SandboxStateError(
            f"the sandbox working copy {shown_path(path)} is not usable: {err}", hint=RESET_HINT
        ) from None
    if not (
        isinstance(wrapper, dict)
        and wrapper.get("format") == FORMAT
        and isinstance(wrapper.get("seed_sha256"), str)
        and isinstance(wrapper.get("seed"), str)
    ):
        raise SandboxStateError(
            f"the sandbox working copy {shown_path(path)} is not in format {FORMAT}",
            hint=RESET_HINT,
        )
    try:
        check_document(wrapper.get("state"))
    except SandboxDocumentError as err:
        raise SandboxStateError(f"{shown_path(path)}: {err}", hint=RESET_HINT) from None
    return WorkingCopy(path, wrapper["seed"], wrapper["seed_sha256"], wrapper["state"])


def carry_working_copy(from_dir: Path, to_dir: Path) -> tuple[Path | None, str | None]:
    """Give ``to_dir`` the live state of ``from_dir``'s working copy, so that a config
    written there (``import -o other/x.toml``) reads what was imported. Returns (the copy
    made or None, a warning or None): a different working copy already in ``to_dir`` is
    never overwritten, and the warning says what to do."""
    source, target = working_copy_path(from_dir), working_copy_path(to_dir)
    if from_dir.resolve() == to_dir.resolve() or not source.is_file():
        return None, None
    data = source.read_bytes()
    if target.is_file():
        if target.read_bytes() == data:
            return None, None
        return None, (
            f"{shown_path(target)} is another sandbox working copy: a plan of the imported "
            f"file reads it, not {shown_path(source)}, which the file was imported from; "
            "delete it (or run `hipaactl sandbox reset` there) and import again, or write "
            "the file beside the config"
        )
    write_json_atomic(target, parse_json(data))
    return target, None
