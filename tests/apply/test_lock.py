from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hipaactl.apply.lock import ApplyLock, held_message, info_path, read_lock_info
from hipaactl.errors import LockError, UsageError

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
HOST = socket.gethostname()


def apply_lock(
    work_dir: Path, *, timeout: float = 0, user: str = "alice", holder_wait: float = 0.5
) -> ApplyLock:
    return ApplyLock(
        work_dir,
        command="hipaactl apply plan.json",
        environ={"USER": user},
        timeout=timeout,
        clock=lambda: START,
        holder_wait=holder_wait,
    )


def test_acquiring_writes_the_holder_and_releasing_removes_it(tmp_path: Path) -> None:
    with apply_lock(tmp_path) as lock:
        held_inside = lock.held
        info = json.loads(info_path(tmp_path).read_text())
        assert info["holder"] == f"alice@{HOST}"
        assert info["started_at"] == "2024-05-01T12:00:00.000Z"
        assert info["command"] == "hipaactl apply plan.json"
        assert isinstance(info["pid"], int)
    assert held_inside
    assert not lock.held
    assert not info_path(tmp_path).exists()


def test_an_exception_inside_still_releases(tmp_path: Path) -> None:
    with pytest.raises(KeyError), apply_lock(tmp_path):
        raise KeyError("boom")
    assert not info_path(tmp_path).exists()
    with apply_lock(tmp_path) as again:
        assert again.held


def test_a_second_lock_in_the_same_process_conflicts(tmp_path: Path) -> None:
    with apply_lock(tmp_path), pytest.raises(LockError) as caught:
        apply_lock(tmp_path, user="bob").acquire()
    assert f"alice@{HOST}" in caught.value.message
    # The loser must not remove the holder's details.
    assert not info_path(tmp_path).exists()


def test_a_second_run_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from hipaactl.errors import LockError
        from hipaactl.apply.lock import ApplyLock
        try:
            lock = ApplyLock(Path(sys.argv[1]), command="hipaactl apply", environ={"USER": "bob"})
            lock.acquire()
        except LockError as exc:
            print(exc.message)
            sys.exit(7)
        """
    )
    with apply_lock(tmp_path):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert time.monotonic() - started < 10  # no waiting on a held lock
    assert result.returncode == 7, result.stderr
    assert result.stdout.strip().startswith(
        f"another hipaactl run holds the lock: alice@{HOST} (pid "
    )
    assert "since 2024-05-01T12:00:00.000Z, running 'hipaactl apply plan.json'" in result.stdout
    assert result.stdout.strip().endswith("wait for it or pass --lock-timeout SECONDS")


def test_a_timeout_waits_for_the_holder_to_release(tmp_path: Path) -> None:
    holder = apply_lock(tmp_path)
    holder.acquire()
    releaser = threading.Timer(0.05, holder.release)
    releaser.start()
    started = time.monotonic()
    try:
        with apply_lock(tmp_path, timeout=0.4, user="bob") as waiter:
            waited = time.monotonic() - started
            assert waiter.held
            holder_seen = read_lock_info(tmp_path)
    finally:
        releaser.join()
    assert waited >= 0.04
    assert holder_seen is not None
    assert holder_seen.holder == f"bob@{HOST}"
    assert not info_path(tmp_path).exists()


def test_a_timeout_that_runs_out_fails(tmp_path: Path) -> None:
    with apply_lock(tmp_path):
        started = time.monotonic()
        with pytest.raises(LockError, match="another hipaactl run holds the lock"):
            apply_lock(tmp_path, timeout=0.1).acquire()
        assert time.monotonic() - started >= 0.09


@pytest.mark.parametrize("content", [None, "{not json", '{"holder": "x"}', "[]"])
def test_missing_or_unreadable_holder_details(tmp_path: Path, content: str | None) -> None:
    with apply_lock(tmp_path):
        if content is None:
            info_path(tmp_path).unlink()
        else:
            info_path(tmp_path).write_text(content)
        with pytest.raises(LockError) as caught:
            apply_lock(tmp_path, holder_wait=0).acquire()
    assert caught.value.message == held_message(None)
    assert "missing or unreadable" in caught.value.message
    assert caught.value.message.endswith("wait for it or pass --lock-timeout SECONDS")


def test_a_loser_in_the_gap_before_the_holder_writes_its_details_still_names_it(
    tmp_path: Path,
) -> None:
    # Two applies started together: the loser can fail between the winner's acquire
    # and its write of lock.info; it waits briefly for the details instead of saying
    # they are missing.
    with apply_lock(tmp_path) as holder:
        details = info_path(tmp_path).read_text()
        info_path(tmp_path).unlink()
        writer = threading.Timer(0.05, info_path(tmp_path).write_text, args=(details,))
        writer.start()
        try:
            with pytest.raises(LockError) as caught:
                apply_lock(tmp_path, user="bob", holder_wait=2).acquire()
        finally:
            writer.join()
        assert holder.held
    assert caught.value.message.startswith(f"another hipaactl run holds the lock: alice@{HOST}")


def test_a_negative_timeout_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--lock-timeout"):
        apply_lock(tmp_path, timeout=-1)


def test_an_uncreatable_lock_is_a_lock_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(LockError, match="cannot create lock file"):
        apply_lock(blocker).acquire()


def test_release_is_idempotent_and_acquire_is_not_reentrant(tmp_path: Path) -> None:
    lock = apply_lock(tmp_path)
    lock.acquire()
    with pytest.raises(RuntimeError):
        lock.acquire()
    lock.release()
    lock.release()
    assert not lock.held
