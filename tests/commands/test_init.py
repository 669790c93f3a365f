"""``hipaactl init``: a safe starter that attests nothing, and the clinic demo on request
(issue 16 item 1), through the real CLI."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from hipaactl.config.schema import AgencySecurityModel
from tests.conftest import EXAMPLE, CliRunner

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Facts only a person can vouch for: in a newcomer's report they are never a pass.
ATTESTED = ("attestation.baa", "attestation.individual_logins")


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("HIPAACTL_CONFIG", "NO_COLOR", "HIPAACTL_NOTIFY_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_starter_declares_no_users_and_no_attestations(fresh: Path, cli: CliRunner) -> None:
    result = cli("init", "my-agency")
    assert result.code == 0, result.err
    document = tomllib.loads((fresh / "my-agency" / "hipaa.toml").read_text(encoding="utf-8"))
    assert "attestations" not in document
    assert "account" not in document
    assert document["provider"] == {"kind": "sandbox"}
    # Every agency security key the config knows is declared: the skeleton is the safe
    # value of each, not a subset that leaves some unmanaged.
    assert set(document["agency"]["security"]) == set(AgencySecurityModel.model_fields)
    assert {"recordings", "transcription", "redaction", "caller_id"} <= set(document["defaults"])
    text = (fresh / "my-agency" / "hipaa.toml").read_text(encoding="utf-8")
    for section in ("[accounts]", "[[account]]", "[[account.user]]", "[attestations.baa]"):
        assert f"# {section}" in text, section  # a commented example of each other section
    for section in ("[attestations.individual_logins]", "[integrations]", "[audit]"):
        assert f"# {section}" in text, section
    assert "# [policy.overrides." in text
    assert not (fresh / "my-agency" / "sandbox").exists()  # the packaged seed is used


def test_first_run_text_says_what_to_do_next(fresh: Path, cli: CliRunner) -> None:
    result = cli("init", "my-agency")
    assert "Wrote my-agency/hipaa.toml." in result.err
    assert "Next: cd my-agency && hipaactl plan" in result.err
    assert "manual" in result.err and "[attestations]" in result.err


def test_a_newcomer_never_sees_a_pass_no_fact_supports(
    fresh: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Follow the README with init: validate, plan, apply, check. The attested facts are
    ``manual`` throughout, never ``pass``; and no user is created in any account."""
    assert cli("init", "my-agency").code == 0
    monkeypatch.chdir(fresh / "my-agency")
    assert cli("validate").code == 0
    plan = cli("plan", "--json")
    assert plan.code == 0, plan.err
    changes = json.loads(plan.out)["changes"]
    assert all(c["resource_type"] != "user" for c in changes)
    assert cli("apply", "--auto-approve").code == 0
    check = cli("check", "--format", "json")
    assert check.code == 3
    results = json.loads(check.out)["results"]
    attested = [r for r in results if r["address"] in ATTESTED]
    assert {r["address"] for r in attested} == set(ATTESTED)
    assert all(r["status"] == "manual" for r in attested)


def test_example_clinic_writes_the_demo(fresh: Path, cli: CliRunner) -> None:
    result = cli("init", "demo", "--example", "clinic")
    assert result.code == 0, result.err
    for name in ("hipaa.toml", "sandbox/agency.json"):
        assert (fresh / "demo" / name).read_bytes() == (EXAMPLE / name).read_bytes()
    assert "fictional" in result.err


def test_unknown_example_and_existing_files_are_refused(fresh: Path, cli: CliRunner) -> None:
    bad = cli("init", "demo", "--example", "dentist")
    assert bad.code == 1 and "error: --example 'dentist' is not an example" in bad.err
    assert not (fresh / "demo").exists()
    assert cli("init", ".").code == 0
    again = cli("init", ".")
    assert again.code == 1 and "already exist" in again.err
    assert cli("init", ".", "--force").code == 0


EXAMPLE_LINE = re.compile(r"^# (\[\[?[\w.\"-]+\]\]?(\s+#.*)?|[a-z_]+ = .*)$")


def test_every_commented_example_is_valid_once_uncommented(fresh: Path, cli: CliRunner) -> None:
    """The commented sections are templates to uncomment: together they must load."""
    assert cli("init", "all").code == 0
    path = fresh / "all" / "hipaa.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    uncommented = [
        match.group(1) if (match := EXAMPLE_LINE.match(line)) else line for line in lines
    ]
    assert uncommented != lines
    path.write_text("\n".join(uncommented) + "\n", encoding="utf-8")
    result = cli("-c", str(path), "validate")
    assert "error:" not in result.err, result.err
