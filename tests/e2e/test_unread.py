"""Issue 13, items 2 and 4, through the CLI against ``sandbox serve``: data that could
not be read is named, never hidden. A managed field that could not be read fails plan
and apply (exit 1, nothing planned or applied, with or without --target); a read-only
fact that could not be read is a manual action "could not read …" counted in the
summary line; ``check`` reports both as ``error`` and always writes its report."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import (
    ExpectedCredentials,
    Response,
    SandboxServer,
    Simulator,
)
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY, Run, write_config
from tests.e2e.processes import serve_simulator

Hipaactl = Callable[..., Run]
NO_CHANGES = "No changes. Live state matches the configuration."


class FailingReads(Simulator):
    """GETs whose path matches ``pattern`` answer ``status`` with a reason."""

    def __init__(self, backend: SandboxBackend, pattern: str | None, status: int) -> None:
        super().__init__(backend, credentials=ExpectedCredentials(ACCESS_KEY, SECRET_KEY))
        self._pattern = re.compile(pattern) if pattern else None
        self._status = status

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        path = urlsplit(target).path
        if method == "GET" and self._pattern is not None and self._pattern.search(path):
            return Response(self._status, {"status": "error", "reason": "backend exploded"})
        return super().respond(method, target, authorization, body)


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as servers:
        yield servers


def serve(
    document: dict[str, Any], stack: ExitStack, failing: str | None = None, status: int = 403
) -> SandboxServer:
    def simulator(url: str) -> Simulator:
        return FailingReads(SandboxBackend(document, base_url=url), failing, status)

    return stack.enter_context(serve_simulator(simulator))


def converged(tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl) -> dict[str, Any]:
    """A generated agency after one apply of the e2e config: plan has nothing to change."""
    document = generate_agency(2, seed=11)
    server = serve(document, stack)
    config = str(write_config(tmp_path, server.url))
    applied = hipaactl("-c", config, "apply", "--auto-approve", "--force")
    assert applied.code == 0, applied.output
    (tmp_path / ".hipaactl" / "audit.jsonl").unlink()
    (tmp_path / ".hipaactl" / "audit.head").unlink()
    snapshot: dict[str, Any] = server.simulator.backend.snapshot()
    return snapshot


def first_number(document: dict[str, Any]) -> dict[str, Any]:
    number: dict[str, Any] = document["accounts"][0]["numbers"][0]
    return number


# ---- item 2: plan ------------------------------------------------------------------------


@pytest.mark.parametrize("targets", [(), ("--target", "account[1001]")], ids=["all", "target"])
def test_an_unreadable_read_only_fact_is_a_manual_action_never_no_changes(
    targets: tuple[str, ...], tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    document = converged(tmp_path, stack, hipaactl)
    number = first_number(document)
    del number["hipaa_eligible"]
    server = serve(document, stack)
    config = str(write_config(tmp_path, server.url))

    planned = hipaactl("-c", config, "plan", "--detailed-exitcode", *targets)
    as_json = hipaactl("-c", config, "plan", "--json", *targets)

    address = f'account[1001].number["{number["id"]}"]'
    assert planned.code == 0, planned.output  # manual actions are not changes
    assert NO_CHANGES not in planned.output
    assert "1 fact could not be read" in planned.stdout
    assert f"! manual {address} [CTM-NUM-01]" in planned.stdout
    assert "could not read hipaa_eligible: the API reply has no readable value" in planned.stdout
    assert re.search(
        r"^Plan: 0 to add, 0 to change, 0 to destroy, \d+ manual, 1 could not be read\.$",
        planned.stdout,
        re.MULTILINE,
    )
    plan = json.loads(as_json.stdout)
    (action,) = [m for m in plan["manual_actions"] if m["address"] == address]
    assert action["unread"] is True
    assert plan["summary"]["unread"] == 1


def test_an_unreadable_read_only_collection_is_a_manual_action_with_the_reason(
    tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    document = converged(tmp_path, stack, hipaactl)
    server = serve(document, stack, failing=r"/accounts/1002/numbers$")
    config = str(write_config(tmp_path, server.url))

    planned = hipaactl("-c", config, "plan")

    assert planned.code == 0, planned.output
    assert "! manual account[1002].number [CTM-NUM-01]" in planned.stdout
    assert "could not read account[1002].number: " in planned.stdout
    assert "backend exploded" in planned.stdout
    assert NO_CHANGES not in planned.output


@pytest.mark.parametrize(
    "targets",
    [(), ("--target", "account[1001]"), ("--target", "account[1001].notification")],
    ids=["all", "account", "notifications"],
)
def test_an_unreadable_managed_field_fails_plan_and_apply_and_changes_nothing(
    targets: tuple[str, ...], tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    document = generate_agency(2, seed=11)  # not converged: there is work to do
    notification = document["accounts"][0]["notifications"][0]
    del notification["fields"]
    server = serve(document, stack)
    config = str(write_config(tmp_path, server.url))
    before = server.simulator.backend.snapshot()

    planned = hipaactl("-c", config, "plan", *targets)
    applied = hipaactl("-c", config, "apply", "--auto-approve", "--force", *targets)

    field = f'account[1001].notification["{notification["id"]}"].fields'
    for run in (planned, applied):
        assert run.code == 1, run.output
        assert "could not read 1 managed field(s); nothing was planned" in run.stderr
        assert field in run.stderr
        assert NO_CHANGES not in run.output
        assert "hipaactl will perform" not in run.stdout
    assert server.simulator.backend.snapshot() == before
    assert not (tmp_path / ".hipaactl" / "audit.jsonl").exists()
    # check reports it as an error, never a pass.
    checked = hipaactl("-c", config, "check", "--format", "json")
    results = json.loads(checked.stdout)["results"]
    address = field.removesuffix(".fields")
    assert {r["status"] for r in results if r["address"] == address} == {"error"}
    assert checked.code == 1


# ---- item 4: check ------------------------------------------------------------------------


def test_check_writes_every_format_when_an_account_is_unreadable(
    tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    server = serve(generate_agency(3, seed=11), stack, failing=r"^/api/v1/accounts/1002/")
    config = str(write_config(tmp_path, server.url))
    sarif = tmp_path / "check.sarif"

    as_json = hipaactl("-c", config, "check", "--format", "json")
    to_file = hipaactl("-c", config, "check", "--format", "sarif", "-o", str(sarif))
    as_text = hipaactl("-c", config, "check")

    report = json.loads(as_json.stdout)
    by_status: dict[str, set[str]] = {}
    for result in report["results"]:
        by_status.setdefault(result["status"], set()).add(result["address"])
    errors = [r for r in report["results"] if r["status"] == "error"]
    assert errors and all("account[1002]" in r["address"] for r in errors)
    assert all("backend exploded" in r["message"] for r in errors)
    assert report["summary"]["error"] == len(errors)
    # The other accounts are evaluated as usual.
    assert any("account[1001]" in a for a in by_status.get("pass", ()) | by_status.get("fail", ()))
    assert any("account[1003]" in a for a in by_status.get("pass", ()) | by_status.get("fail", ()))
    results = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert any("account[1002]" in json.dumps(r) for r in results)
    assert "could not be evaluated (error)" in as_text.stdout
    for run in (as_json, to_file, as_text):
        assert run.code == 1, run.output
        assert "nothing was planned" not in run.output
        assert "all mandatory checks passed" not in run.output


def test_check_writes_its_report_when_the_account_list_is_unreadable(
    tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    server = serve(generate_agency(1, seed=11), stack, failing=r"^/api/v1/accounts$")
    config = str(write_config(tmp_path, server.url))
    out = tmp_path / "report.json"

    checked = hipaactl("-c", config, "check", "--format", "json", "-o", str(out))

    report = json.loads(out.read_text(encoding="utf-8"))
    errors = [r for r in report["results"] if r["status"] == "error"]
    assert checked.code == 1, checked.output
    assert errors
    assert {r["address"] for r in errors} >= {"accounts"}
    assert all(
        "could not read accounts: GET /accounts HTTP 403" in r["message"]
        for r in errors
        if r["address"] == "accounts"
    )
    assert "nothing was planned" not in checked.output


def test_a_managed_agency_setting_missing_from_the_reply_is_unsafe_never_no_changes(
    tmp_path: Path, stack: ExitStack, hipaactl: Hipaactl
) -> None:
    # A field missing from an object that was read is a change from an unknown value
    # (SPEC section 3: unsafe, "live value unknown"); only a value a desired one is
    # computed from (a notification's fields) fails the plan.
    document = generate_agency(1, seed=11)
    del document["agency"]["security"]["two_factor"]  # declared in the config: managed
    server = serve(document, stack)
    config = str(write_config(tmp_path, server.url))

    planned = hipaactl("-c", config, "plan", "--detailed-exitcode")
    checked = hipaactl("-c", config, "check", "--format", "json")

    assert planned.code == 2, planned.output
    assert "live value unknown" in planned.stdout
    assert NO_CHANGES not in planned.output
    (result,) = [r for r in json.loads(checked.stdout)["results"] if r["rule_id"] == "CTM-SEC-02"]
    assert result["status"] == "error"
    assert "could not read two_factor" in result["message"]
