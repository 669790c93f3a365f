"""What the working-directory lock (``ApplyLock``) and the change log's lock (``LogLock``)
share: an OS file lock (``filelock``) that one object holds, as a context manager.

The kernel releases the lock when its holder exits, so a crashed run never leaves a
stale one; the lock file itself stays. Each subclass says why the lock is busy in its
own words (``busy_error``) and may do something just after taking it and just before
letting it go (``ApplyLock`` writes and removes ``lock.info``).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TypeVar

from filelock import FileLock, Timeout

from hipaactl.errors import LockError

_Self = TypeVar("_Self", bound="HeldLock")


class HeldLock:
    """Exclusive hold of the file lock at ``path`` for one object.

    ``timeout`` is how many seconds ``acquire`` waits (0: fail at once); ``mode`` the
    permissions of a lock file it creates (filelock's default when None). Two objects
    on one path conflict even within one process, and either may be released from
    another thread than the one that took it (``thread_local=False``: the apply
    engine's workers).
    """

    def __init__(self, path: Path, *, timeout: float, mode: int | None = None) -> None:
        self.path = path
        self._timeout = timeout
        if mode is None:
            self._file_lock = FileLock(str(path), thread_local=False)
        else:
            self._file_lock = FileLock(str(path), thread_local=False, mode=mode)
        self._held = False

    @property
    def held(self) -> bool:
        """True between a successful ``acquire`` and ``release``."""
        return self._held

    def __enter__(self: _Self) -> _Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; creates the lock file and its
        folder if needed. Raises the subclass's ``busy_error`` when another holder keeps
        it, LockError when the lock file cannot be created, RuntimeError when this
        object holds it already."""
        if self._held:
            raise RuntimeError(f"this {type(self).__name__} is already held")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._take(self._file_lock, self._timeout)
        except Timeout:
            raise self.busy_error() from None
        except OSError as exc:
            raise LockError(f"cannot create lock file {self.path}: {exc.strerror or exc}") from None
        self._held = True
        try:
            self._after_acquire()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Let the next holder in; harmless when not held."""
        if not self._held:
            return
        try:
            self._before_release()
        finally:
            self._held = False
            self._file_lock.release()

    def busy_error(self) -> LockError:
        """The error when another holder keeps the lock past the timeout."""
        return LockError(f"the lock {self.path} is held by another run")

    def _take(self, file_lock: FileLock, timeout: float) -> None:
        """Take the file lock; raises filelock's Timeout. Overridden to report a wait."""
        file_lock.acquire(timeout=timeout)

    def _after_acquire(self) -> None:
        """Called once the lock is held; if it raises, the lock is let go again."""

    def _before_release(self) -> None:
        """Called while the lock is still held, just before it is let go."""
