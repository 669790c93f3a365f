"""An interrupt while live state is read exits 1 with its message, never by SIGINT.

The signal is raised inside an ``exec()`` of a string, where CPython notes a plain
``KeyboardInterrupt`` as unhandled, after which a ``python -m`` run kills itself with
SIGINT (exit -2) once it has printed the message (see ``hipaactl.errors.Interrupted``).
On a loaded machine that happened now and then to the interrupted-apply tests, when
the signal arrived during an import; ``tests.e2e.signal_while_listing`` makes it
certain. An interrupt that Python drops (raised in a finalizer) must still keep apply
from starting any change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Run, StartServer, write_config
from tests.e2e.processes import Finished, run_hipaactl

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTHING_APPLIED = "error: apply was interrupted before any change was made; nothing was applied"


def run_interrupted(config: Path, where: str, signame: str, *args: str) -> Finished:
    """``hipaactl -c CONFIG ARGS`` in a child that raises ``signame`` as it lists
    accounts, inside an ``exec`` or a ``finalizer`` (``where``)."""
    path = os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH"))))
    return run_hipaactl(
        where,
        signame,
        "-c",
        str(config),
        *args,
        cwd=config.parent,
        environ={"PYTHONPATH": path},
        module="tests.e2e.signal_while_listing",
    )


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_apply_interrupted_in_an_exec_exits_1_applies_nothing_and_unlocks(
    tmp_path: Path,
    start_server: StartServer,
    hipaactl: Callable[..., Run],
    signame: str,
) -> None:
    server = start_server(accounts=2, seed=7)
    config = write_config(tmp_path, server.url, rate_limit=1000)
    interrupted = run_interrupted(config, "exec", signame, "apply", "--auto-approve")
    after = hipaactl("-c", str(config), "plan", "--detailed-exitcode")

    assert interrupted.code == 1, interrupted  # -2 when CPython's flag was set
    assert NOTHING_APPLIED in interrupted.stderr
    assert "Apply" not in interrupted.stdout
    assert not (tmp_path / ".hipaactl" / "lock.info").exists()
    assert after.code == 2, after  # every change is still to be made


@pytest.mark.parametrize(
    "command",
    [("plan",), ("plan", "--target", "account[1001]"), ("check",)],
    ids=["plan", "plan-target", "check"],
)
def test_a_read_interrupted_in_an_exec_exits_1_saying_so(
    tmp_path: Path, start_server: StartServer, command: tuple[str, ...]
) -> None:
    server = start_server(accounts=2, seed=7)
    config = write_config(tmp_path, server.url, rate_limit=1000)
    interrupted = run_interrupted(config, "exec", "SIGINT", *command)

    assert interrupted.code == 1, interrupted
    assert "error: interrupted" in interrupted.stderr
    assert interrupted.stdout == ""


def test_an_apply_interrupt_python_dropped_still_stops_it_before_any_change(
    tmp_path: Path, start_server: StartServer, hipaactl: Callable[..., Run]
) -> None:
    server = start_server(accounts=2, seed=7)
    config = write_config(tmp_path, server.url, rate_limit=1000)
    interrupted = run_interrupted(config, "finalizer", "SIGINT", "apply", "--auto-approve")
    after = hipaactl("-c", str(config), "plan", "--detailed-exitcode")

    assert interrupted.code == 1, interrupted  # it applied every change and exited 0
    assert "Exception ignored in" in interrupted.stderr  # Python dropped the interrupt
    assert NOTHING_APPLIED in interrupted.stderr
    assert "Apply" not in interrupted.stdout
    assert not (tmp_path / ".hipaactl" / "audit.jsonl").exists()  # no write was started
    assert not (tmp_path / ".hipaactl" / "lock.info").exists()
    assert after.code == 2, after
