"""``hipaactl doctor`` over the embedded sandbox: the in-process transport, the key named
for a missing endpoint, and no value of live state in its output (SPEC section 12)."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipaactl import __version__
from hipaactl.commands.doctor import build_doctor_report
from hipaactl.policy.packs import load_packs
from hipaactl.providers.ctm.doctor import _MAPPED, doctor_document
from hipaactl.providers.ctm.endpoints import ENDPOINTS_BY_NAME, EndpointTable
from hipaactl.providers.ctm.mapping import CtmProvider
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.inprocess import InProcessTransport
from hipaactl.report.render.doctor import render_doctor
from tests import builders
from tests.conftest import CliRunner

EMAIL = re.compile(r"[^\s@]+@[^\s@]+")


def test_doctor_passes_against_the_real_shaped_sandbox(clinic: Path, cli: CliRunner) -> None:
    result = cli("doctor", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["format_version"] == "1"
    assert document["ok"] is True
    names = [e["name"] for e in document["endpoints"]]
    assert names[:2] == ["accounts", "agency_security"]
    # The packs check triggers, webhooks and numbers: each needed endpoint is probed.
    assert {"users", "triggers", "webhooks", "numbers", "account_settings"} <= set(names)
    users = next(e for e in document["endpoints"] if e["name"] == "users")
    assert users["path"] == "/accounts/{aid}/users"
    assert users["list_key_found"] is True
    assert {f["name"]: f["result"] for f in users["fields"]}["email"] == "present"
    assert "uid" in users["unknown_fields"]
    assert "next_page" in users["paging_fields"]
    assert document["error_shape"]["recognized"] is True
    assert not EMAIL.search(result.out)


def test_doctor_names_the_key_of_an_endpoint_that_404s(clinic: Path, cli: CliRunner) -> None:
    config = clinic / "hipaa.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[provider.endpoints]\nnumbers = "/accounts/{aid}/tracking_numbers"\n',
        encoding="utf-8",
    )
    result = cli("doctor")
    assert result.code == 1
    assert "[provider.endpoints] numbers" in result.out
    assert "[provider.endpoints] numbers" in result.err
    assert "GET /accounts/{aid}/tracking_numbers (documented, overridden) HTTP 404" in result.out

    as_json = json.loads(cli("doctor", "--json").out)
    numbers = next(e for e in as_json["endpoints"] if e["name"] == "numbers")
    assert (numbers["http_status"], numbers["ok"], numbers["overridden"]) == (404, False, True)
    assert numbers["override_key"] == "[provider.endpoints] numbers"


def test_doctor_reports_a_field_of_another_type_and_an_empty_list() -> None:
    document = generate_agency(1, seed=3)
    account = document["accounts"][0]
    for number in account["numbers"]:
        number["hipaa_eligible"] = "yes"
    account["triggers"] = []
    report = _doctor(document)
    numbers = next(e for e in report.endpoints if e.name == "numbers")
    eligible = next(f for f in numbers.fields if f.name == "hipaa_eligible")
    assert (eligible.verdict, eligible.types_seen) == ("other type", ("string",))
    triggers = next(e for e in report.endpoints if e.name == "triggers")
    assert {f.verdict for f in triggers.fields} == {"unchecked: no items"}
    assert triggers.ok and not numbers.ok and not report.ok


def test_doctor_writes_its_json_to_a_file(clinic: Path, cli: CliRunner) -> None:
    result = cli("doctor", "--json", "-o", "doctor.json")
    assert result.code == 0
    assert json.loads((clinic / "doctor.json").read_text(encoding="utf-8"))["ok"] is True


def _doctor(document: dict[str, Any]) -> Any:
    provider = CtmProvider(InProcessTransport(SandboxBackend(document)), EndpointTable({}))
    packs = load_packs(("ctm-hipaa-2018", "ctm-hipaa-current"), base_dir=Path("."))
    return build_doctor_report(builders.config(), packs, provider, None)


def _values(value: Any) -> set[str]:
    """Every scalar of a live-state document, as text."""
    if isinstance(value, dict):
        return {s for item in value.values() for s in _values(item)}
    if isinstance(value, list):
        return {s for item in value for s in _values(item)}
    if isinstance(value, bool) or value is None:
        return set()
    return {str(value)}


TOKEN = st.text(alphabet=string.ascii_letters + string.digits, min_size=4, max_size=12)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(seed=st.integers(0, 10_000), accounts=st.integers(1, 3), data=st.data())
def test_doctor_output_holds_no_value_of_live_state(seed: int, accounts: int, data: Any) -> None:
    document = generate_agency(accounts, seed=seed)
    sensitive: set[str] = set()
    for account in document["accounts"]:
        account["name"] = "Zq" + data.draw(TOKEN)
        for user in account["users"]:
            user["first_name"], user["last_name"] = "Zq" + data.draw(TOKEN), "Zq" + data.draw(TOKEN)
            user["email"] = f"zq{data.draw(TOKEN)}@zq{data.draw(TOKEN)}.example".lower()
        for number in account["numbers"]:
            number["number"] = "+1" + str(data.draw(st.integers(2_000_000_000, 9_999_999_999)))
        for hook in account["webhooks"]:
            hook["password"] = "Zq" + data.draw(TOKEN)
        sensitive |= {str(account["id"]), account["name"]}
        for collection in ("users", "numbers", "triggers", "webhooks", "call_settings",
                           "notifications", "integrations"):  # fmt: skip
            for item in account[collection]:
                sensitive |= {str(item["id"])}
                sensitive |= {
                    str(item[k])
                    for k in ("email", "first_name", "last_name", "number", "password", "uid")
                    if k in item
                }
        for trigger in account["triggers"]:
            for rule in trigger["routing_rules"]:
                sensitive |= {a.get("to", "") for a in rule["actions"]}
    report = _doctor(document)
    output = render_doctor(report) + json.dumps(doctor_document(report, __version__))
    leaked = sorted(v for v in sensitive if v and v in output)
    assert leaked == []
    assert not EMAIL.search(output)


def test_the_endpoint_table_lists_every_field_the_mapping_reads() -> None:
    for name, mapped in _MAPPED.items():
        listed = {key for key, _source in ENDPOINTS_BY_NAME[name].fields}
        extra = {"routing_rules"} if name == "triggers" else set()
        assert listed == {f.key for f in mapped} | extra, name
    assert set(_MAPPED) == set(ENDPOINTS_BY_NAME)


def test_key_names_that_could_be_values_are_counted_not_shown() -> None:
    document = generate_agency(1, seed=3)
    for user in document["accounts"][0]["users"]:
        user[user["email"]] = True  # a server keying something by a value
        user["\x1b[31mred"] = 1
    report = _doctor(document)
    users = next(e for e in report.endpoints if e.name == "users")
    distinct = len(document["accounts"][0]["users"]) + 1  # every email, and one odd name
    assert users.unknown_fields[-1] == f"({distinct} other key names not shown)"
    text = render_doctor(report)
    assert "\x1b" not in text and not EMAIL.search(text)
