"""The change log through the CLI (SPEC sections 6, 9 and 13; issue 14): private files,
no symbolic links, one chain for configs that share a log, a clean stop on a full disk,
and no silent re-anchoring when the head is missing."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hipaactl.apply.audit_log import read_head, read_log, verify_log
from hipaactl.providers.sandbox.server import SandboxServer
from tests.apply.full_disk import fill_disk_at
from tests.e2e.conftest import Run, StartServer, write_config
from tests.e2e.processes import run_hipaactl, running, serve

Hipaactl = Callable[..., Run]
PAGE = 4096


def config_with_log(folder: Path, url: str, log: Path, *, new_user: str = "new.hire") -> Path:
    """``write_config``'s config in ``folder``, its change log at ``log``, and
    ``new_user`` as the one user to create."""
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder, url, parallelism=2)
    text = path.read_text(encoding="utf-8").replace("new.hire@", f"{new_user}@")
    path.write_text(text + f'\n[audit]\npath = "{log}"\n', encoding="utf-8")
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def sandbox(start_server: StartServer) -> SandboxServer:
    return start_server(accounts=2, seed=4)


def test_every_file_with_workforce_data_is_0600(
    tmp_path: Path, sandbox: SandboxServer, hipaactl: Hipaactl
) -> None:
    config = str(write_config(tmp_path, sandbox.url))
    log = tmp_path / ".hipaactl" / "audit.jsonl"
    log.parent.mkdir()
    log.write_text("")
    log.chmod(0o644)  # as the previous version created it
    previous = os.umask(0)  # so a file created without an explicit mode would show it
    try:
        runs = [
            hipaactl("-c", config, "plan", "-o", str(tmp_path / "plan.json")),
            hipaactl("-c", config, "check", "--format", "json", "-o", str(tmp_path / "r.json")),
            hipaactl("-c", config, "apply", "--auto-approve", "--force"),
        ]
    finally:
        os.umask(previous)

    plan, check, apply = runs
    assert (plan.code, check.code in (0, 3), apply.code) == (0, True, 0), [r.output for r in runs]
    written = [tmp_path / "plan.json", tmp_path / "r.json", log, log.with_name("audit.head")]
    assert {str(p): oct(mode_of(p)) for p in written} == {str(p): "0o600" for p in written}


@pytest.mark.parametrize("target", ["plan.json", ".hipaactl/audit.jsonl", ".hipaactl/audit.head"])
def test_no_file_is_written_through_a_symbolic_link(
    tmp_path: Path, sandbox: SandboxServer, hipaactl: Hipaactl, target: str
) -> None:
    config = str(write_config(tmp_path, sandbox.url))
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    link = tmp_path / target
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(victim)

    if target == "plan.json":
        run = hipaactl("-c", config, "plan", "-o", str(link))
    else:
        run = hipaactl("-c", config, "apply", "--auto-approve", "--force")

    assert run.code == 1, run.output
    assert "symbolic link" in run.stderr
    assert "unexpected" not in run.stderr
    assert victim.read_text() == "untouched\n"
    assert "Apply" not in run.stdout  # refused before any change


def test_a_missing_head_is_refused_unless_accepted_and_then_recorded(
    tmp_path: Path, sandbox: SandboxServer, hipaactl: Hipaactl
) -> None:
    config = str(write_config(tmp_path, sandbox.url))
    first = hipaactl(
        "-c", config, "apply", "--auto-approve", "--force", "--target", "account[1001]"
    )
    log = tmp_path / ".hipaactl" / "audit.jsonl"
    head = log.with_name("audit.head")
    head.unlink()
    before = log.read_bytes()

    refused = hipaactl("-c", config, "apply", "--auto-approve", "--force")
    log_after_refusal, head_after_refusal = log.read_bytes(), head.exists()
    accepted = hipaactl("-c", config, "apply", "--auto-approve", "--force", "--accept-missing-head")
    verified = hipaactl("-c", config, "audit", "verify")

    assert first.code == 0, first.output
    assert refused.code == 1, refused.output
    assert "head" in refused.stderr and "is missing" in refused.stderr
    assert "--accept-missing-head" in refused.stderr
    assert "Apply" not in refused.stdout
    assert (log_after_refusal, head_after_refusal) == (before, False)  # wrote nothing
    assert accepted.code == 0, accepted.output
    results = [record["result"] for record in read_log(log)]
    assert results[len(before.splitlines())] == "accepted_missing_head"
    assert verified.code == 0, verified.output


def test_a_full_disk_mid_apply_ends_cleanly(
    tmp_path: Path,
    sandbox: SandboxServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = str(write_config(tmp_path, sandbox.url, parallelism=1))
    with monkeypatch.context() as full:
        fill_disk_at(full, 5)  # the third change's "started" record
        run = hipaactl("-c", config, "apply", "--auto-approve", "--force")
    report = verify_log(tmp_path / ".hipaactl" / "audit.jsonl")
    again = hipaactl("-c", config, "apply", "--auto-approve", "--force")

    assert_clean_full_disk_stop(run)
    assert "cut back to its last whole record (4 records) and its head written" in run.stderr
    assert "2 applied" in run.stdout
    assert report.ok, report.problems  # whole records, ending exactly at the head
    assert report.records == 4
    assert again.code == 0, again.output
    assert verify_log(tmp_path / ".hipaactl" / "audit.jsonl").ok


def assert_clean_full_disk_stop(run: Run) -> None:
    assert run.code == 1, run.output
    assert "No space left on device" in run.stderr
    assert "unexpected" not in run.output
    assert "Traceback" not in run.output
    assert "Apply incomplete" in run.stdout  # the apply report is printed
    assert "audit head:" in run.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted for the test; skipped where mounting is not possible."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def fill_leaving(folder: Path, pages: int) -> Path:
    """Fill the disk holding ``folder`` up, then free ``pages`` pages."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                if os.write(fd, b"\0" * PAGE) < PAGE:
                    break
            except OSError:
                break
    finally:
        os.close(fd)
    size = filler.stat().st_size
    os.truncate(filler, size - size % PAGE - pages * PAGE)
    return filler


def test_a_really_full_disk_mid_apply_ends_cleanly(
    tmp_path: Path, small_disk: Path, start_server: StartServer, hipaactl: Hipaactl
) -> None:
    sandbox = start_server(accounts=3, seed=4)
    log = small_disk / "audit.jsonl"
    config = str(config_with_log(tmp_path / "clinic", sandbox.url, log))
    # One page goes to the reserved head, one to the log: about 7 of ~30 records.
    filler = fill_leaving(small_disk, pages=2)

    run = hipaactl("-c", config, "apply", "--auto-approve", "--force")
    report, head = verify_log(log), read_head(log.with_name("audit.head"))
    filler.unlink()
    again = hipaactl("-c", config, "apply", "--auto-approve", "--force")

    assert_clean_full_disk_stop(run)
    assert "cut back to its last whole record" in run.stderr
    assert not any("partial" in p or "cut from the end" in p for p in report.problems)
    assert head.records == report.records
    assert 0 < report.records < 30
    assert again.code == 0, again.output
    assert verify_log(log).ok


def test_two_configs_sharing_one_log_keep_one_chain(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "audit.jsonl"
    with serve("--accounts", "4", "--latency-ms", "20", "--seed", "5") as sandbox:
        one = config_with_log(tmp_path / "one", sandbox.url, shared, new_user="first.hire")
        two = config_with_log(tmp_path / "two", sandbox.url, shared, new_user="second.hire")
        applies = [
            ("-c", str(config), "apply", "--auto-approve", "--force", "--lock-timeout", "60")
            for config in (one, two)
        ]
        with (
            running(*applies[0], cwd=one.parent) as first,
            running(*applies[1], cwd=two.parent) as second,
        ):
            results = [first.finish(), second.finish()]
        verified = run_hipaactl("audit", "verify", str(shared), cwd=tmp_path)

    assert [r.code for r in results] == [0, 0], [r.output for r in results]
    report = verify_log(shared)
    assert report.ok, report.problems
    users = [r["address"] for r in read_log(shared) if r["result"] == "applied"]
    assert any("first.hire" in address for address in users)
    assert any("second.hire" in address for address in users)
    assert verified.code == 0, verified.output
