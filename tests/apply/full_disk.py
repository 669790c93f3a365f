"""A change log on a disk that fills up mid-apply, without needing a small disk: the
log's file object writes half of one record, then raises ENOSPC, as a real full disk
does (a short write, then the error)."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest

from hipaactl.apply import audit_log


class FullDisk(io.FileIO):
    """The log file; write number ``fail_at`` (1-based: one record per write) is cut."""

    def __init__(self, path: Path, fail_at: int) -> None:
        super().__init__(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        self.fail_at = fail_at
        self.writes = 0

    def write(self, data: Any) -> int:
        self.writes += 1
        if self.writes == self.fail_at:
            super().write(bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data) or 0


def fill_disk_at(monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    """Every change log opened from now on (in this test) fills the disk at ``fail_at``."""
    monkeypatch.setattr(audit_log, "open_append", lambda path: FullDisk(path, fail_at))
