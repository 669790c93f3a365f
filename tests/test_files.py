"""Files that may hold workforce data are 0600 and never written through a symbolic
link (SPEC section 9); an earlier version's 0644 files are fixed on the next write."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from hipaactl.files import (
    PRIVATE_MODE,
    ReservedFile,
    open_append,
    os_error_reason,
    write_text_atomic,
)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> object:
    """The default umask of many systems (022) would hide a missing mode argument."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_a_whole_file_is_created_0600(tmp_path: Path) -> None:
    target = tmp_path / "new" / "plan.json"

    write_text_atomic(target, "{}\n")

    assert target.read_text() == "{}\n"
    assert mode_of(target) == PRIVATE_MODE


def test_an_appended_file_is_created_0600(tmp_path: Path) -> None:
    target = tmp_path / ".hipaactl" / "audit.jsonl"

    with open_append(target) as log:
        log.write(b"one\n")
    with open_append(target) as log:
        log.write(b"two\n")

    assert target.read_bytes() == b"one\ntwo\n"
    assert mode_of(target) == PRIVATE_MODE


@pytest.mark.parametrize("write", ["whole", "append"])
def test_a_0644_file_from_an_earlier_version_is_made_0600(tmp_path: Path, write: str) -> None:
    target = tmp_path / "audit.jsonl"
    target.write_text("old\n")
    target.chmod(0o644)

    if write == "whole":
        write_text_atomic(target, "new\n")
    else:
        with open_append(target) as log:
            log.write(b"new\n")

    assert mode_of(target) == PRIVATE_MODE


@pytest.mark.parametrize("write", ["whole", "append", "reserved"])
@pytest.mark.parametrize("dangling", [False, True])
def test_a_symbolic_link_is_never_written_through(
    tmp_path: Path, write: str, dangling: bool
) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    if not dangling:
        elsewhere.write_text("keep me\n")
    link = tmp_path / "audit.head"
    link.symlink_to(elsewhere)

    with pytest.raises(OSError) as caught:
        if write == "whole":
            write_text_atomic(link, "data\n")
        elif write == "append":
            open_append(link)
        else:
            ReservedFile(link, 64).commit("data\n")

    assert caught.value.errno == errno.ELOOP
    assert "symbolic link" in str(caught.value.strerror)
    assert link.is_symlink()
    assert elsewhere.exists() == (not dangling)
    if not dangling:
        assert elsewhere.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {"audit.head", *(["elsewhere.txt"] if not dangling else [])}
    )


def test_a_folder_or_fifo_is_not_appended_to(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    with pytest.raises(OSError):
        open_append(fifo)
    with pytest.raises(OSError):
        open_append(tmp_path)


def test_reserved_space_becomes_the_file_on_commit(tmp_path: Path) -> None:
    target = tmp_path / "audit.head"
    target.write_text("old head\n")
    target.chmod(0o644)
    reserved = ReservedFile(target, 4096)
    spare = [p for p in tmp_path.iterdir() if p != target]

    assert target.read_text() == "old head\n"  # untouched until commit
    assert [p.stat().st_size for p in spare] == [4096]

    reserved.commit('{"records":2}\n')

    assert target.read_text() == '{"records":2}\n'
    assert mode_of(target) == PRIVATE_MODE
    assert list(tmp_path.iterdir()) == [target]
    reserved.discard()  # harmless after commit
    assert target.exists()


def test_discarded_space_leaves_nothing(tmp_path: Path) -> None:
    ReservedFile(tmp_path / "audit.head", 4096).discard()

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("write", ["whole", "append", "reserved"])
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_target_that_is_not_a_regular_file_is_never_replaced(
    tmp_path: Path, write: str, kind: str
) -> None:
    """`plan -o /dev/null` as root once renamed a plain file over the machine's
    /dev/null; a FIFO stands in for the device here (creating one needs no root)."""
    target = tmp_path / "out"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    before = target.lstat()

    with pytest.raises(OSError) as caught:
        if write == "whole":
            write_text_atomic(target, "data\n")
        elif write == "append":
            open_append(target)
        else:
            ReservedFile(target, 64).commit("data\n")

    assert caught.value.errno == errno.EINVAL
    assert "not a regular file" in str(caught.value.strerror)
    after = target.lstat()
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "f"), "permission denied: check"),
        (PermissionError(errno.EPERM, "Operation not permitted", "f"), "permission denied: check"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "f"), "it is a folder, not a file"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "f"), "No such file"),
        (OSError("no errno at all"), "OSError"),
    ],
)
def test_an_os_error_is_told_in_words_without_errno(error: OSError, reason: str) -> None:
    told = os_error_reason(error)
    assert told.startswith(reason)
    assert "Errno" not in told and "'f'" not in told
