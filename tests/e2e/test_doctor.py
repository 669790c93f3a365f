"""``hipaactl doctor`` end to end: the ``ctm`` provider over HTTP against ``sandbox serve``
(SPEC section 12): the real-shaped simulator passes, a wrong path names its key, nothing
is written and no credential or value is printed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from hipaactl.providers.sandbox.generate import generate_agency
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY, Run, StartServer, write_config

Hipaactl = Callable[..., Run]
EMAIL = re.compile(r"[^\s@\"]+@[^\s@\"]+")


def test_doctor_passes_against_the_real_shaped_simulator(
    start_server: StartServer, hipaactl: Hipaactl, tmp_path: Path
) -> None:
    state = tmp_path / "agency.json"
    state.write_text(json.dumps(generate_agency(3, seed=5)), encoding="utf-8")
    before = state.read_bytes()
    server = start_server(state=state, page_cap=2)
    config = write_config(tmp_path, server.url)
    run = hipaactl("-c", str(config), "doctor", "--json")
    assert run.code == 0, run.output
    document = json.loads(run.stdout)
    assert document["ok"] is True and document["provider"] == "ctm"
    assert document["accounts"] == {"listed": 3, "managed": 3, "probed": "first managed account"}
    users = next(e for e in document["endpoints"] if e["name"] == "users")
    assert (users["http_status"], users["status"], users["overridden"]) == (
        200,
        "documented",
        False,
    )
    # The page cap of 2 shows in the paging fields: next_page is a full URL.
    assert users["next_page"] == "url"
    assert document["error_shape"] == {
        "attempted": True,
        "http_status": 400,
        "recognized": True,
        "body_keys": ["reason", "status"],
    }
    assert state.read_bytes() == before  # read only
    for secret in (ACCESS_KEY, SECRET_KEY, "sandbox-receiver-secret"):
        assert secret not in run.output
    assert not EMAIL.search(run.stdout)


def test_doctor_names_the_override_key_of_a_path_that_404s(
    start_server: StartServer, hipaactl: Hipaactl, tmp_path: Path
) -> None:
    server = start_server(accounts=2, seed=3)
    config = write_config(tmp_path, server.url)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[agency.security]",
            '[provider.endpoints]\nagency_security = "/agency/security_settings"\n\n'
            "[agency.security]",
        ),
        encoding="utf-8",
    )
    run = hipaactl("-c", str(config), "doctor")
    assert run.code == 1
    assert (
        "PROBLEM agency_security: GET /agency/security_settings (inferred, overridden) HTTP 404"
        in run.stdout
    )
    assert '[provider.endpoints] agency_security = "/your/path"' in run.stderr
