"""Private file writes: every file hipaactl writes may hold workforce data (SPEC section 9).

Every file is created mode 0600 and never written through a symbolic link, and a file an
earlier version left group- or world-readable (0644) is made 0600 on its next write. Two
ways to write, both here so no writer can skip the rules:

- ``write_text_atomic``: a whole file (plans, reports, the audit head, lock details,
  sandbox state); readers see the old file or the new one, never half of one.
- ``open_append``: a file that only grows (the change log).
- ``ReservedFile``: space taken now for a small whole-file write later (the audit
  head), so that write succeeds even once the disk is full.

Both raise ``OSError``; a refused symbolic link or non-regular file is an OSError whose
``strerror`` says so in words a user can act on, so callers that show
``exc.strerror`` need nothing special.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import tempfile
from pathlib import Path

PRIVATE_MODE = 0o600
_SYMLINK_REFUSED = "it is a symbolic link, and hipaactl never writes through one"
_NOT_REGULAR = (
    "it is not a regular file (a folder, FIFO or device), and hipaactl writes only regular files"
)
# O_NOFOLLOW is POSIX; where it is missing the lstat check before opening still refuses.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def fsync_directory(directory: Path) -> None:
    """Make a rename durable; some platforms cannot open directories, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def refuse_symlink(target: Path) -> None:
    """Raise OSError(ELOOP) when ``target`` is a symbolic link (dangling ones included)."""
    if target.is_symlink():
        raise OSError(errno.ELOOP, _SYMLINK_REFUSED, str(target))


def refuse_unsafe_target(target: Path, *, folder_ok: bool = False) -> None:
    """Raise OSError when ``target`` may not be replaced by a written file: ELOOP for a
    symbolic link (dangling ones included), EINVAL for anything else that is not a
    regular file (a FIFO, socket or device; a folder too unless ``folder_ok``, for the
    evidence bundle). Renaming over ``/dev/null`` as root would replace the machine's
    device with a plain file, so no writer may do it."""
    try:
        status = target.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(status.st_mode):
        raise OSError(errno.ELOOP, _SYMLINK_REFUSED, str(target))
    if stat.S_ISREG(status.st_mode) or (folder_ok and stat.S_ISDIR(status.st_mode)):
        return
    raise OSError(errno.EINVAL, _NOT_REGULAR, str(target))


def write_text_atomic(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to a 0600 temporary file beside ``target``, fsync it, and
    rename it over ``target``, which thus ends up 0600 whatever its mode was. Raises
    OSError: ELOOP when ``target`` is a symbolic link, EINVAL when it is a folder, FIFO,
    socket or device; the temporary file never outlives a failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    refuse_unsafe_target(target)
    # mkstemp creates the file 0600 and with O_EXCL, so nothing can be linked in its place.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


def open_append(target: Path) -> io.FileIO:
    """Open ``target`` for appending bytes, creating it 0600 (and its folder) if needed.

    The open does not follow a symbolic link (O_NOFOLLOW), and an existing file that is
    not 0600 is changed to 0600 before anything is written. Raises OSError: ELOOP for a
    symbolic link, EINVAL for a folder, FIFO or device.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    refuse_unsafe_target(target)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC
    try:
        fd = os.open(target, flags | os.O_NONBLOCK, PRIVATE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # linked in between the check and the open
            raise OSError(errno.ELOOP, _SYMLINK_REFUSED, str(target)) from None
        raise
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, _NOT_REGULAR, str(target))
        if stat.S_IMODE(status.st_mode) != PRIVATE_MODE:
            os.fchmod(fd, PRIVATE_MODE)
        os.set_blocking(fd, True)
        # Unbuffered: each write reaches the file at once, so a failed one leaves no
        # bytes behind in a buffer to be flushed later, past a cut-back.
        return io.FileIO(fd, "ab", closefd=True)
    except BaseException:
        os.close(fd)
        raise


class ReservedFile:
    """Space reserved now for an atomic write of up to ``size`` bytes to ``target``
    later: a 0600 temporary file beside it, filled with ``size`` bytes at once. The
    later ``commit`` overwrites those bytes, trims the file and renames it over
    ``target``, so it needs no new space on a full disk (on filesystems that rewrite
    blocks in place: ext4, xfs, tmpfs; not copy-on-write ones). Raises OSError.
    """

    def __init__(self, target: Path, size: int) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self.target = target
        self._fd: int | None = None
        fd, self._name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
        self._fd = fd
        try:
            _write_all(fd, b"\0" * size)
            os.fsync(fd)
        except BaseException:
            self.discard()
            raise

    def commit(self, text: str) -> None:
        """Write ``text`` (UTF-8) into the reserved space and rename it over ``target``
        (ELOOP when ``target`` is a symbolic link, EINVAL when it is not a regular file).
        The reservation is used up, whether
        this succeeds or not."""
        if self._fd is None:
            raise RuntimeError(f"the reservation for {self.target} was already used")
        try:
            refuse_unsafe_target(self.target)
            data = text.encode("utf-8")
            os.lseek(self._fd, 0, os.SEEK_SET)
            _write_all(self._fd, data)
            os.ftruncate(self._fd, len(data))
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            os.replace(self._name, self.target)
        except BaseException:
            self.discard()
            raise
        fsync_directory(self.target.parent)

    def discard(self) -> None:
        """Give the space back without touching ``target``; harmless after ``commit``."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        Path(self._name).unlink(missing_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# Reasons a person can act on, for the errors a file access commonly meets; the rest
# keep the operating system's own words (``strerror``), never "[Errno N] ...: 'path'".
_OS_REASONS = {
    errno.EACCES: "permission denied: check the file's permissions and owner",
    errno.EPERM: "permission denied: check the file's permissions and owner",
    errno.EISDIR: "it is a folder, not a file",
}


def os_error_reason(exc: OSError) -> str:
    """What went wrong with a file, in words for a message that names the file itself
    (the ``[Errno N]`` prefix and the path Python adds to ``str(exc)`` are left out)."""
    if exc.errno in _OS_REASONS:
        return _OS_REASONS[exc.errno]
    return exc.strerror or type(exc).__name__


def shown_path(path: Path) -> str:
    """How every message names a file: relative to the working directory when it lies
    under it, else absolute; so a path in a message can be pasted back as an argument.

    The path is the one the user gave, made absolute and normalised by its spelling only
    (``a/./b`` and ``a/../b``): symbolic links are never followed, so a config, seed or
    plan given as a link is named by the link, not by the file it points to."""
    absolute = Path(os.path.abspath(path))
    for base in _working_dirs():
        try:
            relative = absolute.relative_to(base)
        except ValueError:
            continue
        return str(relative) if str(relative) else "."
    return str(absolute)


def _working_dirs() -> list[Path]:
    """The working directory as the shell spells it ($PWD, when it names the same
    folder) and as the kernel does (``os.getcwd()``, with its links resolved)."""
    cwd = Path(os.getcwd())
    spelled = os.environ.get("PWD")
    if spelled and os.path.isabs(spelled) and Path(spelled) != cwd:
        try:
            if os.path.samefile(spelled, cwd):
                return [Path(os.path.normpath(spelled)), cwd]
        except OSError:
            pass
    return [cwd]
