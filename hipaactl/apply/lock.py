"""The working-directory lock that serialises applies (and ``sandbox reset``).

``.hipaactl/lock`` is an OS file lock (``filelock``): the kernel releases it when its
holder exits, so a crashed run never leaves a stale lock. Who holds it goes in
``.hipaactl/lock.info`` (JSON: holder, pid, started_at, command), written after
acquiring and removed before releasing, so a second run can name the holder.

    with ApplyLock(work_dir, command="hipaactl apply", environ=os.environ):
        ...  # read live state, apply, write the audit head
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from hipaactl.apply.audit_log import Clock, format_time, user_at_host, utc_now
from hipaactl.apply.held_lock import HeldLock
from hipaactl.canonical import parse_json
from hipaactl.errors import LockError, UsageError
from hipaactl.files import write_text_atomic

STATE_DIR_NAME = ".hipaactl"
LOCK_FILE_NAME = "lock"
INFO_FILE_NAME = "lock.info"
_WAIT_HINT = "wait for it or pass --lock-timeout SECONDS"
# The holder writes lock.info just after acquiring; a run that loses the race inside
# that gap waits this long for the details, so the error can still name the holder.
HOLDER_WAIT_SECONDS = 0.5
_HOLDER_POLL_SECONDS = 0.01


def lock_path(work_dir: Path) -> Path:
    """``<work_dir>/.hipaactl/lock``, the file filelock holds (SPEC section 6)."""
    return work_dir / STATE_DIR_NAME / LOCK_FILE_NAME


def info_path(work_dir: Path) -> Path:
    """``<work_dir>/.hipaactl/lock.info``, the holder details (SPEC section 6)."""
    return work_dir / STATE_DIR_NAME / INFO_FILE_NAME


@dataclass(frozen=True)
class LockInfo:
    """Who holds the lock: ``holder`` is user@host."""

    holder: str
    pid: int
    started_at: str
    command: str

    def to_json(self) -> dict[str, Any]:
        """``{"holder", "pid", "started_at", "command"}`` as written to ``lock.info``."""
        return {
            "holder": self.holder,
            "pid": self.pid,
            "started_at": self.started_at,
            "command": self.command,
        }


def read_lock_info(work_dir: Path) -> LockInfo | None:
    """The holder's details, or None when the file is missing, unreadable or malformed
    (the holder may be between acquiring and writing it)."""
    try:
        data = parse_json(info_path(work_dir).read_bytes())
    except (OSError, ValueError):  # DocumentError is a ValueError
        return None
    if not isinstance(data, dict):
        return None
    holder, pid = data.get("holder"), data.get("pid")
    started_at, command = data.get("started_at"), data.get("command")
    if not (isinstance(holder, str) and isinstance(started_at, str) and isinstance(command, str)):
        return None
    if not isinstance(pid, int) or isinstance(pid, bool):
        return None
    return LockInfo(holder, pid, started_at, command)


def held_message(info: LockInfo | None) -> str:
    """The LockError message naming the holder, or saying it cannot be named."""
    if info is None:
        return (
            f"another hipaactl run holds the lock (its details in {STATE_DIR_NAME}/"
            f"{INFO_FILE_NAME} are missing or unreadable); {_WAIT_HINT}"
        )
    return (
        f"another hipaactl run holds the lock: {info.holder} (pid {info.pid}) since "
        f"{info.started_at}, running '{info.command}'; {_WAIT_HINT}"
    )


class ApplyLock(HeldLock):
    """Exclusive use of a working directory for one run; a context manager.

    ``timeout`` is how many seconds to wait for another run to finish (0: fail at once);
    ``holder_wait`` how long a loser waits for the holder's details to appear;
    ``on_wait`` is called with the holder's details when the lock is taken and the run
    is about to wait for it (so the CLI can say "Acquiring lock…").
    Two ApplyLock objects conflict even within one process (each opens its own lock).
    ``acquire`` takes ``.hipaactl/lock``, then writes the holder details to
    ``lock.info`` (SPEC section 6); it raises LockError naming the holder when another
    run keeps it or the lock file cannot be created, RuntimeError when this object
    already holds it.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        command: str,
        environ: Mapping[str, str],
        timeout: float = 0,
        clock: Clock = utc_now,
        holder_wait: float = HOLDER_WAIT_SECONDS,
        on_wait: Callable[[LockInfo | None], None] | None = None,
    ) -> None:
        if timeout < 0:
            raise UsageError(f"--lock-timeout must be 0 or more seconds, not {timeout:g}")
        super().__init__(lock_path(work_dir), timeout=timeout)
        self.work_dir = work_dir
        self._holder = user_at_host(environ)
        self._command = command
        self._clock = clock
        self._holder_wait = holder_wait
        self._on_wait = on_wait

    def busy_error(self) -> LockError:
        """Another run keeps the working directory: names it from ``lock.info``."""
        return LockError(
            held_message(self._wait_for_holder_info()),
            hint=f"the lock is {self.path}; it is released when that run exits",
        )

    def _take(self, file_lock: FileLock, timeout: float) -> None:
        """Take the lock at once if it is free; else tell ``on_wait`` and wait up to the
        timeout. Raises filelock's Timeout."""
        if timeout <= 0 or self._on_wait is None:
            file_lock.acquire(timeout=timeout)
            return
        try:
            file_lock.acquire(timeout=0)
        except Timeout:
            self._on_wait(read_lock_info(self.work_dir))
            file_lock.acquire(timeout=timeout)

    def _wait_for_holder_info(self) -> LockInfo | None:
        """The holder's details, waiting briefly for a holder that has only just
        acquired the lock and not yet written them."""
        deadline = time.monotonic() + self._holder_wait
        while True:
            info = read_lock_info(self.work_dir)
            if info is not None or time.monotonic() >= deadline:
                return info
            time.sleep(_HOLDER_POLL_SECONDS)

    def _after_acquire(self) -> None:
        info = LockInfo(self._holder, os.getpid(), format_time(self._clock()), self._command)
        target = info_path(self.work_dir)
        # Write then rename, so a waiting run never reads half a file.
        try:
            write_text_atomic(target, json.dumps(info.to_json(), sort_keys=True) + "\n")
        except OSError as exc:
            raise LockError(f"cannot write {target}: {exc.strerror or exc}") from exc

    def _before_release(self) -> None:
        # lock.info goes first, so a new holder's details are never removed.
        info_path(self.work_dir).unlink(missing_ok=True)
