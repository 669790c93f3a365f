"""``--target`` and ``plan --list-addresses`` through the real CLI on a copy of
examples/clinic (issue 16 item 2)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from hipaactl.commands.common import open_provider_for
from hipaactl.errors import UsageError
from hipaactl.model.state import AccountInfo, AccountState, ResourceKind
from hipaactl.pipeline import PlanOptions, build_plan, load_inputs
from tests.conftest import CliRunner

ROSA = 'account[1001].user["rosa.nguyen@downtown-clinic.example"]'  # created by apply
NOTIFICATION = 'account[1001].notification["N7"]'  # keeps recording_url: needs the agency


def test_list_addresses_names_every_target_unchanged_resources_and_creates(
    clinic: Path, cli: CliRunner
) -> None:
    result = cli("plan", "--list-addresses")
    assert result.code == 0, result.err
    addresses = result.out.splitlines()
    plan = json.loads(cli("plan", "--json").out)
    changed = {c["address"] for c in plan["changes"]}
    assert changed <= set(addresses)
    assert ROSA in addresses
    unchanged = set(addresses) - changed - {m["address"] for m in plan["manual_actions"]}
    assert 'account[1001].user["dr.lee@downtown-clinic.example"]' in unchanged
    assert {"agency.security", "account[1001]", "account[1003].settings"} <= set(addresses)
    assert len(addresses) == len(set(addresses))
    # account ids sort as numbers, and the list is stable
    assert addresses == cli("plan", "--list-addresses").out.splitlines()


def test_every_listed_address_is_a_valid_target(clinic: Path, cli: CliRunner) -> None:
    addresses = cli("plan", "--list-addresses").out.splitlines()
    for address in addresses[:: max(1, len(addresses) // 8)]:
        result = cli("plan", "--target", address)
        assert result.code == 0, (address, result.err)
        assert f"Partial plan: only {address} (--target)." in result.out


def test_a_target_selects_a_planned_create(clinic: Path, cli: CliRunner) -> None:
    result = cli("plan", "--target", ROSA)
    assert result.code == 0, result.err
    assert f"+ create {ROSA}" in result.out
    assert "Plan: 1 to add, 0 to change, 0 to destroy, 0 manual." in result.out


def test_a_target_matching_nothing_lists_the_nearest_addresses(
    clinic: Path, cli: CliRunner
) -> None:
    result = cli("plan", "--target", 'account[1001].notifcation["N7"]')
    assert result.code == 1
    first = result.err.splitlines()[0]
    assert first.startswith('error: --target account[1001].notifcation["N7"] matches no address')
    assert f"nearest: {NOTIFICATION}" in first
    assert "hipaactl plan --list-addresses" in result.err
    assert cli("plan", "--target", "account[1]").code == 1  # never account[1001]


def test_a_change_whose_dependency_is_outside_target_is_flagged_at_plan_time(
    clinic: Path, cli: CliRunner
) -> None:
    result = cli("plan", "--target", NOTIFICATION)
    assert result.code == 0, result.err
    assert "(after agency.security: outside --target, apply will skip this change)" in result.out
    assert (
        f"warning: {NOTIFICATION} depends on agency.security, which is outside --target: "
        "apply will skip it; add --target agency.security"
    ) in result.err
    both = cli("plan", "--target", NOTIFICATION, "--target", "agency.security")
    assert "outside --target" not in both.out + both.err
    assert "(after agency.security)" in both.out


def test_addresses_are_listed_even_when_the_gate_fails(clinic: Path, cli: CliRunner) -> None:
    path = clinic / "hipaa.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("idle_timeout_minutes = 15 ", "idle_timeout_minutes = 60 "))
    assert cli("plan").code == 3
    listed = cli("plan", "--list-addresses")
    assert listed.code == 0, listed.err
    assert "agency.security" in listed.out.splitlines()


@pytest.mark.parametrize(
    "flags",
    [["-o", "plan.json"], ["--json"], ["--detailed-exitcode"]],
    ids=["out", "json", "detailed-exitcode"],
)
def test_list_addresses_with_a_plan_flag_is_a_usage_error(
    clinic: Path, cli: CliRunner, flags: list[str]
) -> None:
    """`plan -o plan.json --list-addresses` used to exit 0 and save nothing, so a script
    went on to apply a plan that was never made."""
    result = cli("plan", "--list-addresses", *flags)

    assert result.code == 1
    assert "--list-addresses cannot be used with" in result.err
    named = {"-o": "-o/--out"}.get(flags[0], flags[0])
    assert f"cannot be used with {named}" in result.err
    assert result.out == ""
    assert not (clinic / "plan.json").exists()


def test_a_mistyped_target_reads_again_only_the_account_it_names(clinic: Path) -> None:
    inputs = load_inputs(clinic / "hipaa.toml", today=dt.date.today())
    provider = open_provider_for(inputs.config)
    read: list[int] = []
    read_account = provider.read_account

    def counting(info: AccountInfo, kinds: frozenset[ResourceKind]) -> AccountState:
        read.append(info.id)
        return read_account(info, kinds)

    provider.read_account = counting  # type: ignore[method-assign]
    try:
        with pytest.raises(UsageError, match=re.escape(f"nearest: {NOTIFICATION}")):
            build_plan(inputs, provider, PlanOptions(targets=('account[1001].notifcation["N7"]',)))
    finally:
        provider.close()

    assert set(read) == {1001}  # never the other managed accounts, 1002 and 1003
