"""Writing a bundle: reproducible zips, private files, atomic replacement."""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipaactl.report import bundle
from hipaactl.report.bundle import BundleFile, occupied, write_bundle, zip_time

STAMP = dt.datetime(2026, 11, 30, 9, 0, 1, tzinfo=dt.timezone.utc)
FILES = (
    BundleFile("README.md", b"# guide\n"),
    BundleFile("manifest.json", b"{}\n"),
    BundleFile("report/check.json", b'{"a": 1}\n'),
    BundleFile("config/hipaa.toml", b"version = 1\n"),
)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_zip_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    write_bundle(first, FILES, stamped=STAMP)
    write_bundle(second, FILES, stamped=STAMP)
    assert first.read_bytes() == second.read_bytes()
    write_bundle(second, FILES, stamped=STAMP + dt.timedelta(hours=1))
    assert first.read_bytes() != second.read_bytes()


def test_zip_entries_keep_order_time_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "evidence.ZIP"
    write_bundle(target, FILES, stamped=STAMP)
    with zipfile.ZipFile(target) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == [f.path for f in FILES]
        assert {i.date_time for i in infos} == {(2026, 11, 30, 9, 0, 0)}
        assert {stat.S_IMODE(i.external_attr >> 16) for i in infos} == {0o600}
        assert {i.create_system for i in infos} == {3}
        assert archive.read("report/check.json") == b'{"a": 1}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_mtime == STAMP.timestamp()


def test_zip_time_is_utc_and_never_before_1980() -> None:
    eastern = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert zip_time(eastern) == (2026, 1, 2, 8, 4, 4)
    assert zip_time(dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) == (1980, 1, 1, 0, 0, 0)


def test_folder_bundle_is_private(tmp_path: Path) -> None:
    target = tmp_path / "out" / "bundle"
    write_bundle(target, FILES, stamped=STAMP)
    assert (target / "report" / "check.json").read_bytes() == b'{"a": 1}\n'
    for path in [target, *target.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    assert (target / "README.md").stat().st_mtime == STAMP.timestamp()


@pytest.mark.parametrize("name", ["bundle", "bundle.zip"])
def test_replaces_what_is_there_and_leaves_no_temporary(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    write_bundle(target, (BundleFile("old.txt", b"old"),), stamped=STAMP)
    write_bundle(target, FILES, stamped=STAMP)
    if target.is_dir():
        assert not (target / "old.txt").exists()
    else:
        assert "old.txt" not in zipfile.ZipFile(target).namelist()
    assert _leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_old_bundle_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "bundle"
    write_bundle(target, (BundleFile("old.txt", b"old"),), stamped=STAMP)

    def full_disk(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bundle, "_set_time", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_bundle(target, FILES, stamped=STAMP)
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    assert _leftovers(tmp_path) == []


def test_refuses_a_symbolic_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.zip"
    elsewhere.write_bytes(b"keep")
    link = tmp_path / "bundle.zip"
    link.symlink_to(elsewhere)
    with pytest.raises(OSError) as caught:
        write_bundle(link, FILES, stamped=STAMP)
    assert caught.value.errno == errno.ELOOP
    assert elsewhere.read_bytes() == b"keep"


@pytest.mark.parametrize("name", ["bundle", "bundle.zip"])
def test_refuses_a_fifo_or_device_and_leaves_it(tmp_path: Path, name: str) -> None:
    """`evidence -o /dev/null --force` as root would have renamed a folder over the
    machine's /dev/null; a FIFO stands in for the device."""
    target = tmp_path / name
    os.mkfifo(target)
    with pytest.raises(OSError) as caught:
        write_bundle(target, FILES, stamped=STAMP)
    assert caught.value.errno == errno.EINVAL
    assert stat.S_ISFIFO(target.lstat().st_mode)
    assert _leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_rejects_paths_that_leave_the_bundle(tmp_path: Path) -> None:
    for bad in ("../x", "/etc/x", "a/../../x", ""):
        with pytest.raises(ValueError):
            write_bundle(tmp_path / "b", (BundleFile(bad, b""),), stamped=STAMP)
    assert not (tmp_path / "b").exists()


def test_occupied(tmp_path: Path) -> None:
    assert not occupied(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    assert not occupied(tmp_path / "empty")
    (tmp_path / "empty.zip").touch()
    assert not occupied(tmp_path / "empty.zip")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").touch()
    assert occupied(tmp_path / "full")
    os.symlink(tmp_path / "missing", tmp_path / "link")
    assert occupied(tmp_path / "link")


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(
    contents=st.dictionaries(
        st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8})?\.txt", fullmatch=True),
        st.binary(max_size=64),
        min_size=1,
        max_size=5,
    ),
    seconds=st.integers(min_value=0, max_value=4_000_000_000),
)
def test_any_files_round_trip_through_a_reproducible_zip(
    tmp_path_factory: pytest.TempPathFactory, contents: dict[str, bytes], seconds: int
) -> None:
    folder = tmp_path_factory.mktemp("zips")
    files = tuple(BundleFile(path, data) for path, data in sorted(contents.items()))
    stamped = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    write_bundle(folder / "1.zip", files, stamped=stamped)
    write_bundle(folder / "2.zip", files, stamped=stamped)
    assert (folder / "1.zip").read_bytes() == (folder / "2.zip").read_bytes()
    with zipfile.ZipFile(folder / "1.zip") as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == contents
