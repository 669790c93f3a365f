"""``hipaactl check`` end to end, through the real CLI, on a copy of examples/clinic."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hipaactl.cli import main
from hipaactl.errors import ProviderError
from hipaactl.model.state import AccountInfo, AccountState, AgencySecurity, ResourceKind
from hipaactl.report.check import ALL_PASSED, DISCLAIMER

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clinic"
SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "sarif-schema-2.1.0.json"
WORKING_COPY = Path(".hipaactl") / "sandbox" / "state.json"
RECENTLY = (dt.date.today() - dt.timedelta(days=30)).isoformat()

# What the untouched example breaks (its seed is a made-up agency built to break them).
VIOLATED_BY_EXAMPLE = {
    # mandatory
    "CTM-SEC-01",
    "CTM-SEC-02",
    "CTM-SEC-03",
    "CTM-ENC-01",
    "CTM-ENC-02",
    "CTM-TRN-01",
    "CTM-PLAN-01",
    "CTM-NUM-01",
    "CTM-SEC-04",
    "CTM-WHK-01",
    # advisory
    "CTM-RED-01",
    "CTM-PHI-01",
    "CTM-PHI-02",
    "CTM-CID-01",
    "CTM-CID-02",
    "CTM-INT-01",
    "CTM-LOGIN-02",
    "CTM-WHK-02",
}
# What apply cannot change: read-only facts, and a user it never removes (additive).
LEFT_AFTER_APPLY = {
    ("CTM-PLAN-01", "account[1002].plan"),
    ("CTM-NUM-01", 'account[1001].number["TPN1002"]'),
    ("CTM-INT-01", 'account[1002].integration["I21"]'),
    ("CTM-LOGIN-02", 'account[1001].user["frontdesk@downtown-clinic.example"]'),
    # Webhooks are read only: apply cannot move a receiver to https or to an allowed host.
    ("CTM-WHK-01", 'account[1002].webhook["W1002"]'),
    ("CTM-WHK-02", 'account[1002].webhook["W1002"]'),
    # Triggers are read only: apply cannot remove the PHI their actions send.
    ("CTM-PHI-02", 'account[1001].trigger["T3"]'),
    ("CTM-PHI-02", 'account[1003].trigger["T31"]'),
}


def edit_config(folder: Path, old: str, new: str) -> None:
    path = folder / "hipaa.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the example no longer contains {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the example as the working directory, its attestations
    confirmed 30 days ago so that the tests do not age."""
    folder = tmp_path / "clinic"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".hipaactl"))
    path = folder / "hipaa.toml"
    text = re.sub(
        r"confirmed_on = \d{4}-\d{2}-\d{2}", f"confirmed_on = {RECENTLY}", path.read_text()
    )
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.delenv("HIPAACTL_CONFIG", raising=False)
    return folder


def fix_seed(folder: Path) -> None:
    """Fix in the seed what apply cannot: the plan, the ineligible number, the shared
    mailbox, the integration without a BAA, the triggers that send PHI, the webhook that
    posts over http to a receiver not on the allow list."""
    path = folder / "sandbox" / "agency.json"
    seed = json.loads(path.read_text(encoding="utf-8"))
    accounts = {a["id"]: a for a in seed["accounts"]}
    accounts[1002]["plan"] = "Growth"
    for item in accounts[1001]["numbers"]:
        item["hipaa_eligible"] = True
    accounts[1001]["users"] = [
        u for u in accounts[1001]["users"] if not u["email"].startswith("frontdesk@")
    ]
    for item in accounts[1002]["integrations"]:
        item["enabled"] = False
    accounts[1002]["webhooks"] = []
    for account in accounts.values():
        for trigger in account["triggers"]:
            for rule in trigger["routing_rules"]:
                for action in rule["actions"]:
                    action["message"] = "A call from {{source}} at {{call_start}}"
    path.write_text(json.dumps(seed, indent=2), encoding="utf-8")


def edit_live(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change live state behind hipaactl's back, as a CTM user would in the UI."""
    path = folder / WORKING_COPY
    wrapper = json.loads(path.read_text(encoding="utf-8"))
    change(wrapper["state"])
    path.write_text(json.dumps(wrapper), encoding="utf-8")


def run(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = run("check", "--format", "json", *args)
    return code, json.loads(capsys.readouterr().out)


def failing(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (r["rule_id"], r["address"])
        for r in report["results"]
        if r["status"] not in ("pass", "not_applicable")
    }


def without_time(report: dict[str, Any]) -> dict[str, Any]:
    report["run"]["evaluated_at"] = "-"
    return report


@pytest.fixture
def applied(clinic: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run("apply", "--auto-approve") == 0
    capsys.readouterr()
    return clinic


@pytest.fixture
def fixed(clinic: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The example with its seed fixed and applied: every check passes."""
    fix_seed(clinic)
    assert run("apply", "--auto-approve") == 0
    capsys.readouterr()
    return clinic


# -- acceptance 2: the example, before and after apply, and fixed ----------------------


def test_untouched_example_exits_3_and_names_each_violated_rule(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("check", "-c", "hipaa.toml") == 3
    captured = capsys.readouterr()
    for rule_id in VIOLATED_BY_EXAMPLE:
        assert f"  {rule_id} (" in captured.out
    assert captured.out.rstrip().endswith(DISCLAIMER)
    assert "check: 12 mandatory checks failed" in captured.err

    code, report = check_json(capsys)
    assert code == 3
    assert {rule_id for rule_id, _ in failing(report)} == VIOLATED_BY_EXAMPLE
    assert report["scope"] == {
        "managed": [1001, 1002, 1003],
        "excluded": [
            {"id": 1999, "reason": "marketing sandbox: test campaigns only, no patient calls"}
        ],
        "unclassified": [],
    }
    assert not any("account[1999]." in r["address"] for r in report["results"])


def test_after_apply_only_what_apply_cannot_change_fails(
    applied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = check_json(capsys)
    assert code == 3
    assert failing(report) == LEFT_AFTER_APPLY
    mandatory = {r["rule_id"] for r in report["results"] if r["status"] == "fail"}
    assert mandatory >= {"CTM-PLAN-01", "CTM-NUM-01"}
    assert report["summary"]["fail"] == len(LEFT_AFTER_APPLY)


def test_a_missing_attestation_is_manual_and_fails_the_check(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = clinic / "hipaa.toml"
    block = r"\[attestations\.individual_logins\].*\nconfirmed_on = .*\nby = .*\n"
    text, removed = re.subn(block, "", path.read_text(encoding="utf-8"))
    assert removed == 1
    path.write_text(text, encoding="utf-8")
    fix_seed(clinic)
    assert run("apply", "--auto-approve") == 0
    capsys.readouterr()

    code, report = check_json(capsys)
    assert code == 3
    assert failing(report) == {("CTM-LOGIN-01", "attestation.individual_logins")}
    assert report["summary"]["manual"] == 1


def test_fixed_seed_and_current_attestations_exit_0(
    fixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("check") == 0
    captured = capsys.readouterr()
    assert f"Result: {ALL_PASSED}." in captured.out
    assert "compliant" not in captured.out.lower().replace("compliance", "")

    code, report = check_json(capsys)
    assert code == 0
    summary = report["summary"]
    assert (summary["fail"], summary["error"], summary["manual"]) == (0, 0, 0)
    assert summary["pass"] + summary["not_applicable"] == len(report["results"])
    assert report["conclusion"] == ALL_PASSED


def test_stale_attestation_is_manual(fixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = (dt.date.today() - dt.timedelta(days=400)).isoformat()
    baa = 'confirmed_on = {}\nby = "compliance@clinic.example"\ndocument'
    edit_config(fixed, baa.format(RECENTLY), baa.format(stale))
    code, report = check_json(capsys)
    assert code == 3
    assert failing(report) == {("CTM-BAA-01", "attestation.baa")}
    result = next(r for r in report["results"] if r["rule_id"] == "CTM-BAA-01")
    assert (result["status"], result["enforcement"]) == ("manual", "mandatory")
    assert "is not within the last 365 days" in result["message"]


# -- acceptance 3: SARIF validates, JUnit parses and counts like the JSON report --------


def test_sarif_output_validates_against_the_schema(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("check", "--format", "sarif", "-o", "out/check.sarif") == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Wrote the sarif report to out/check.sarif." in captured.err
    document = json.loads((clinic / "out" / "check.sarif").read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(document)
    results = document["runs"][0]["results"]
    idle = next(r for r in results if r["ruleId"] == "CTM-SEC-01")
    location = idle["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "hipaa.toml", "uriBaseId": "%SRCROOT%"}
    lines = (clinic / "hipaa.toml").read_text(encoding="utf-8").splitlines()
    assert lines[location["region"]["startLine"] - 1].startswith("idle_timeout_minutes = 15")


def test_junit_output_parses_and_its_counts_match_the_json_report(
    applied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = check_json(capsys)
    assert run("check", "--format", "junit") == 3
    root = ET.fromstring(capsys.readouterr().out)
    summary = report["summary"]
    assert int(root.get("tests", "-1")) == sum(summary.values()) == len(report["results"])
    red = [
        r
        for r in report["results"]
        if r["status"] in ("fail", "manual")
        and r["enforcement"] == "mandatory"
        and not r.get("waived")
    ]
    assert int(root.get("failures", "-1")) == len(red)
    assert int(root.get("errors", "-1")) == summary["error"]
    not_red = summary["fail"] + summary["manual"] + summary["waived"] - len(red)
    assert int(root.get("skipped", "-1")) == not_red
    flagged = {
        (c.get("classname"), c.get("name"))
        for c in root.iter("testcase")
        if c.find("failure") is not None
        or c.find("skipped") is not None
        or c.find("error") is not None
    }
    assert flagged == failing(report)


def test_markdown_output_is_a_pull_request_comment(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("check", "--format", "markdown") == 3
    markdown = capsys.readouterr().out
    assert markdown.startswith("## ❌ hipaactl check: 12 mandatory checks failed")
    assert "#### CTM-SEC-01: Idle users are logged out after at most 15 minutes" in markdown
    assert "<details>" in markdown
    assert DISCLAIMER in markdown


# -- acceptance 4: breaking one checklist item makes one new failing pair --------------


def _zip_in_trigger(state: dict[str, Any]) -> None:
    trigger = state["accounts"][1]["triggers"][0]  # account 1002, T21
    trigger["routing_rules"][0]["actions"][0]["message"] += " from [Caller_Zip]"


def _idle_timeout(state: dict[str, Any]) -> None:
    state["agency"]["security"]["idle_timeout_minutes"] = 30


def _ineligible_number(state: dict[str, Any]) -> None:
    state["accounts"][2]["numbers"][1]["hipaa_eligible"] = False  # 1003, TPN3002


def _shared_mailbox(state: dict[str, Any]) -> None:
    state["accounts"][2]["users"].append(
        {
            "id": 799,
            "email": "Reception@eastside-pt.example",
            "first_name": "Front",
            "last_name": "Office",
            "role": "agent",
            "status": "active",
        }
    )


def _integration(state: dict[str, Any]) -> None:
    state["accounts"][2]["integrations"].append({"id": "I31", "name": "Zapier", "enabled": True})


def _caller_id(state: dict[str, Any]) -> None:
    state["accounts"][0]["call_settings"][1]["callerid_enabled"] = True  # 1001, CS1002


BREAKS = [
    (_zip_in_trigger, ("CTM-PHI-02", 'account[1002].trigger["T21"]')),
    (_idle_timeout, ("CTM-SEC-01", "agency.security")),
    (_ineligible_number, ("CTM-NUM-01", 'account[1003].number["TPN3002"]')),
    (_shared_mailbox, ("CTM-LOGIN-02", 'account[1003].user["reception@eastside-pt.example"]')),
    (_integration, ("CTM-INT-01", 'account[1003].integration["I31"]')),
    (_caller_id, ("CTM-CID-01", 'account[1001].call_settings["CS1002"]')),
]


@pytest.mark.parametrize(("change", "pair"), BREAKS, ids=[b[1][0] for b in BREAKS])
def test_breaking_one_item_adds_one_failing_pair(
    fixed: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[dict[str, Any]], None],
    pair: tuple[str, str],
) -> None:
    _, before = check_json(capsys)
    edit_live(fixed, change)
    _, after = check_json(capsys)
    assert failing(after) - failing(before) == {pair}
    assert failing(before) - failing(after) == set()


def test_two_runs_over_the_same_state_give_identical_reports(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first = check_json(capsys)
    _, second = check_json(capsys)
    assert json.dumps(without_time(first)) == json.dumps(without_time(second))
    sarif = []
    for _ in range(2):
        assert run("check", "--format", "sarif") == 3
        sarif.append(re.sub(r'"endTimeUtc": "[^"]*"', "", capsys.readouterr().out))
    assert sarif[0] == sarif[1]


# -- acceptance 5 and overrides ---------------------------------------------------------

OVERRIDE = (
    '"{rule}" = {{ enforcement = "advisory", reason = "{reason}", '
    'approved_by = "privacy-officer@clinic.example", expires_on = {expires} }}\n'
)


def drop_webhooks(state: dict[str, Any]) -> None:
    for account in state["accounts"]:
        account["webhooks"] = []


def add_overrides(folder: Path, plan: dt.date, number: dt.date) -> None:
    lines = [
        "\n[policy.overrides]\n",
        OVERRIDE.format(rule="CTM-PLAN-01", reason="plan upgrade ordered", expires=plan),
        OVERRIDE.format(rule="CTM-NUM-01", reason="number released next week", expires=number),
    ]
    with (folder / "hipaa.toml").open("a", encoding="utf-8") as handle:
        handle.write("".join(lines))


def test_current_overrides_waive_failures_and_never_fail_the_check(
    applied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = dt.date.today() + dt.timedelta(days=30)
    add_overrides(applied, later, later)
    edit_live(applied, drop_webhooks)  # the http webhook is removed in CTM, not waived
    code, report = check_json(capsys)
    assert code == 0
    waived = {(r["rule_id"], r["status"]) for r in report["results"] if r["waived"]}
    assert waived == {("CTM-PLAN-01", "fail"), ("CTM-NUM-01", "fail")}
    assert (report["summary"]["waived"], report["summary"]["fail"]) == (2, 4)
    assert failing(report) == {r for r in LEFT_AFTER_APPLY if not r[0].startswith("CTM-WHK")}
    assert report["conclusion"] == ALL_PASSED


def test_an_expired_override_is_ignored_with_a_warning(
    applied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = dt.date.today() + dt.timedelta(days=30)
    expired = dt.date.today() - dt.timedelta(days=1)
    add_overrides(applied, later, expired)
    assert run("check", "--format", "json") == 3
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert f'warning: [policy.overrides] "CTM-NUM-01" expired on {expired.isoformat()}' in (
        captured.err
    )
    (number,) = [
        r for r in report["results"] if (r["rule_id"], r["status"]) == ("CTM-NUM-01", "fail")
    ]
    assert number["waived"] is False
    assert report["summary"]["waived"] == 1


def test_an_override_without_approved_by_is_a_config_error(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (clinic / "hipaa.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n[policy.overrides]\n"CTM-PLAN-01" = { enforcement = "advisory", '
            'reason = "soon", expires_on = 2099-01-01 }\n'
        )
    assert run("check") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "approved_by" in captured.err
    assert "hipaa.toml" in captured.err


# -- errors: unknown data, unreadable state ---------------------------------------------


def test_an_unreadable_field_is_an_error_and_errors_win(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_path = clinic / "sandbox" / "agency.json"
    seed = json.loads(seed_path.read_text(encoding="utf-8"))
    del seed["accounts"][2]["numbers"][0]["hipaa_eligible"]  # 1003, TPN3001
    seed_path.write_text(json.dumps(seed), encoding="utf-8")

    assert run("check", "--format", "json") == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    errors = [(r["rule_id"], r["address"]) for r in report["results"] if r["status"] == "error"]
    assert errors == [("CTM-NUM-01", 'account[1003].number["TPN3001"]')]
    assert report["summary"]["error"] == 1
    assert {rule_id for rule_id, _ in failing(report)} == VIOLATED_BY_EXAMPLE  # still listed
    assert "could not be evaluated" in captured.err
    assert 'CTM-NUM-01 account[1003].number["TPN3001"]' in captured.err
    assert ALL_PASSED not in captured.out


LISTED = (1001, 1002, 1003, 1999)


class FailingProvider:
    """Lists accounts, then fails to read one: the state cannot be read."""

    def list_accounts(self) -> tuple[AccountInfo, ...]:
        return tuple(AccountInfo(aid, f"Clinic {aid}", "active", "Advanced") for aid in LISTED)

    def read_agency_security(self) -> AgencySecurity:
        return AgencySecurity(15, "every_login", True)

    def read_account(self, info: AccountInfo, kinds: frozenset[ResourceKind]) -> AccountState:
        raise ProviderError("upstream timed out", status=504, endpoint="GET /accounts/1001/users")

    def apply_change(self, change: object) -> None:
        raise AssertionError("check never writes")

    def close(self) -> None:
        pass


@pytest.fixture
def failing_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        "hipaactl.commands.check.open_provider_for", lambda config: FailingProvider()
    )
    yield


def test_unreadable_accounts_are_errors_naming_them_and_the_report_is_still_written(
    clinic: Path, failing_provider: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # SPEC section 7: a report is always written; what could not be read is an error
    # with the reason, never a pass, and everything else is evaluated as usual.
    assert run("check", "-c", "hipaa.toml", "--format", "json") == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    errors = [r for r in report["results"] if r["status"] == "error"]
    for aid in (1001, 1002, 1003):
        mine = [r for r in errors if r["address"].startswith(f"account[{aid}]")]
        assert mine, aid
        assert all(
            "GET /accounts/1001/users HTTP 504: upstream timed out" in r["message"] for r in mine
        )
    security = [r for r in report["results"] if r["address"] == "agency.security"]
    assert any(r["status"] == "pass" for r in security)  # evaluated as usual
    assert "nothing was planned" not in captured.err
    assert "could not be evaluated" in captured.err


# -- options and scope ------------------------------------------------------------------


def test_pack_option_replaces_the_configured_packs(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = check_json(capsys, "--pack", "ctm-hipaa-2018")
    assert [p["id"] for p in report["packs"]] == ["ctm-hipaa-2018"]
    assert all(r["rule_id"].startswith("CTM18-") for r in report["results"])


def test_pack_file_is_relative_to_the_working_directory(
    clinic: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Path(__file__).resolve().parents[2] / "policies" / "ctm-hipaa-current.toml"
    custom = clinic.parent / "packs" / "mine.toml"
    custom.parent.mkdir()
    custom.write_text(
        source.read_text(encoding="utf-8").replace('id = "ctm-hipaa-current"', 'id = "mine"'),
        encoding="utf-8",
    )
    monkeypatch.chdir(clinic.parent)
    code, report = check_json(capsys, "-c", "clinic/hipaa.toml", "--pack", "packs/mine.toml")
    assert code == 3
    assert [p["id"] for p in report["packs"]] == ["mine"]
    assert {r["pack"] for r in report["results"]} == {"mine"}

    assert run("check", "-c", "clinic/hipaa.toml", "--pack", "mine.toml") == 1
    assert "policy pack file not found" in capsys.readouterr().err


def test_integrations_are_read_even_without_an_allow_list(
    applied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow = (applied / "hipaa.toml").read_text(encoding="utf-8").split("[integrations]")[1]
    edit_config(applied, "[integrations]" + allow.split("\n]\n")[0] + "\n]\n", "")
    _, report = check_json(capsys)
    assert ("CTM-INT-01", 'account[1001].integration["I1"]') in failing(report)


def test_an_account_neither_managed_nor_excluded_fails_the_scope_rule(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_config(clinic, 'include = ["*"]', "include = [1001, 1002, 1003]")
    edit_config(
        clinic,
        '  { id = 1999, reason = "marketing sandbox: test campaigns only, no patient calls" },\n',
        "",
    )
    code, report = check_json(capsys)
    assert code == 3
    assert report["scope"]["unclassified"] == [1999]
    assert ("CTM-SCOPE-01", "account[1999]") in failing(report)


def test_users_inventory_lists_every_user_of_managed_accounts(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = check_json(capsys)
    users = report["users"]
    assert users == sorted(users, key=lambda u: (u["account"], u["email"]))
    assert {u["account"] for u in users} == {1001, 1002, 1003}
    assert {
        "account": 1001,
        "email": "frontdesk@downtown-clinic.example",
        "role": "agent",
        "status": "active",
    } in users


def test_unknown_format_is_a_usage_error(clinic: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", "--format", "xml") == 1
    assert "--format 'xml' is not one of: text, json, markdown, sarif, junit" in (
        capsys.readouterr().err
    )


def test_a_plan_the_api_did_not_show_is_one_error_result(
    fixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The account's plan is both a view (with no value) and an unread collection; the
    # report must name it once, not count the same gap twice.
    def drop_plan(state: dict[str, Any]) -> None:
        for account in state["accounts"]:
            if account["id"] == 1002:
                account.pop("plan", None)

    edit_live(fixed, drop_plan)
    code, report = check_json(capsys)
    plan_results = [r for r in report["results"] if r["address"] == "account[1002].plan"]
    assert code == 1
    assert len(plan_results) == len({r["rule_id"] for r in plan_results}) >= 1, plan_results
    assert {r["status"] for r in plan_results} == {"error"}
