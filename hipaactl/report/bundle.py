"""Write an evidence bundle (SPEC section 13): a folder, or a reproducible ``.zip``.

Both kinds are built under a temporary name beside the target and renamed into place,
so a reader (or a crash) never sees half a bundle. Every file is 0600 and every folder
0700: a bundle holds workforce data (SPEC section 9). Nothing is written through a
symbolic link.

A zip is byte-for-byte reproducible: entries come in the order given, each stamped with
the same time (the evaluation time, in UTC; a zip cannot hold a time before 1980), with
mode 0600, Unix as the creating system, and deflated at level 9. The standard library's
``zipfile`` does all of that through explicit ``ZipInfo`` values; the one library that
packages it (``repro-zipfile``) defaults entries to 0644 and reads its settings from
environment variables, which suits neither rule.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hipaactl.files import PRIVATE_MODE, fsync_directory, refuse_unsafe_target

FILE_MODE = PRIVATE_MODE
FOLDER_MODE = 0o700
_ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.timezone.utc)
_UNIX = 3  # ZipInfo.create_system: the high 16 bits of external_attr are a Unix mode
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: ``path`` is relative, with forward slashes (``report/check.json``)."""

    path: str
    data: bytes


def is_zip(target: Path) -> bool:
    """Whether ``-o`` asks for a zip (its name ends in ``.zip``, any case) or a folder."""
    return target.name.lower().endswith(".zip")


def occupied(target: Path) -> bool:
    """Whether writing ``target`` would replace something: a non-empty file or folder, or
    a symbolic link. An empty file or folder is taken over without ``--force``."""
    if target.is_symlink():
        return True
    if target.is_dir():
        return any(target.iterdir())
    return target.exists() and target.stat().st_size > 0


def probe_writable(target: Path) -> None:
    """Fail early, before the slow part of a run, when no bundle can be written beside
    ``target``: creates its folder if needed, then a temporary file there, and removes
    it. Raises OSError."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=target.parent)
    os.close(fd)
    os.unlink(name)


def write_bundle(target: Path, files: Sequence[BundleFile], *, stamped: dt.datetime) -> None:
    """Write ``files`` as a zip (``target`` ends in ``.zip``) or a folder at ``target``,
    replacing whatever is there, every file stamped with ``stamped`` (aware).

    Raises OSError (ELOOP when ``target`` is a symbolic link, EINVAL when it is a FIFO,
    socket or device); the temporary bundle never
    outlives a failure, and ``target`` is left as it was unless the final rename happened.
    Deciding whether ``target`` may be replaced (``--force``) is the caller's.
    """
    _check_paths(files)
    refuse_unsafe_target(target, folder_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _temporary(target) as temporary:
        if is_zip(target):
            _write_zip(temporary, files, stamped)
        else:
            _write_folder(temporary, files, stamped)
        _swap_into_place(temporary, target)


def _check_paths(files: Sequence[BundleFile]) -> None:
    seen: set[str] = set()
    for item in files:
        parts = PurePosixPath(item.path).parts
        if not parts or item.path.startswith("/") or ".." in parts or item.path in seen:
            raise ValueError(f"bad or repeated bundle path {item.path!r}")
        seen.add(item.path)


@contextlib.contextmanager
def _temporary(target: Path) -> Iterator[Path]:
    """A fresh name beside ``target`` (same filesystem, so the rename is atomic), removed
    on the way out whatever is there by then."""
    name = tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temporary = Path(name)
    try:
        if is_zip(target):
            temporary.rmdir()  # the zip file takes the name mkdtemp reserved
        yield temporary
    finally:
        _remove(temporary)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def zip_time(stamped: dt.datetime) -> tuple[int, int, int, int, int, int]:
    """A zip entry's date_time: ``stamped`` in UTC, no earlier than 1980-01-01, to the
    even second (the zip format keeps two-second steps)."""
    moment = max(stamped.astimezone(dt.timezone.utc), _ZIP_EPOCH)
    second = moment.second - moment.second % 2
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, second)


def _write_zip(path: Path, files: Sequence[BundleFile], stamped: dt.datetime) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
        for item in files:
            info = zipfile.ZipInfo(item.path, date_time=zip_time(stamped))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            archive.writestr(info, item.data, compresslevel=9)
        archive.close()
        raw.flush()
        os.fsync(raw.fileno())
    _set_time(path, stamped)


def _write_folder(root: Path, files: Sequence[BundleFile], stamped: dt.datetime) -> None:
    os.chmod(root, FOLDER_MODE)
    for item in files:
        path = root.joinpath(*PurePosixPath(item.path).parts)
        _make_folders(root, path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(item.data)
            handle.flush()
            os.fsync(handle.fileno())
        _set_time(path, stamped)
    # Deepest first: stamping a folder's files would move its own time again.
    for folder in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir():
            _set_time(folder, stamped)
    _set_time(root, stamped)


def _make_folders(root: Path, folder: Path) -> None:
    missing = []
    while folder != root and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=FOLDER_MODE)
        os.chmod(path, FOLDER_MODE)


def _set_time(path: Path, stamped: dt.datetime) -> None:
    seconds = stamped.timestamp()
    os.utime(path, (seconds, seconds), follow_symlinks=False)


def _swap_into_place(temporary: Path, target: Path) -> None:
    """Rename the finished bundle to ``target``. A file is replaced in one rename; a
    folder (which no rename can replace) is first moved aside, and put back if the
    second rename fails."""
    if not target.exists():
        os.rename(temporary, target)
    elif target.is_file() and is_zip(target):
        os.replace(temporary, target)
    else:
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        aside.rmdir()
        os.rename(target, aside)
        try:
            os.rename(temporary, target)
        except OSError:
            os.rename(aside, target)
            raise
        _remove(aside)
    fsync_directory(target.parent)
