"""Seeded synthetic agencies for ``sandbox serve --accounts N``."""

from __future__ import annotations

from hipaactl.model.state import RESOURCE_KINDS
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.mapping import CtmProvider
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.inprocess import InProcessTransport


def test_the_same_seed_gives_the_same_agency() -> None:
    assert generate_agency(20, seed=7) == generate_agency(20, seed=7)
    assert generate_agency(20, seed=7) != generate_agency(20, seed=8)


def test_accounts_have_the_promised_shape() -> None:
    document = generate_agency(50, seed=1)
    accounts = document["accounts"]
    assert [a["id"] for a in accounts] == list(range(1001, 1051))
    assert len({a["name"] for a in accounts}) == 50
    for account in accounts:
        assert 2 <= len(account["call_settings"]) <= 3
        assert 3 <= len(account["users"]) <= 6
        assert 1 <= len(account["notifications"]) <= 2
        assert 1 <= len(account["triggers"]) <= 2
        assert 2 <= len(account["numbers"]) <= 3
        assert 0 <= len(account["integrations"]) <= 2
        assert account["users"][0]["role"] == "admin"


def test_the_mix_holds_both_compliant_and_non_compliant_settings() -> None:
    accounts = generate_agency(50, seed=1)["accounts"]
    encrypted = {a["settings"]["encrypted_recordings"] for a in accounts}
    eligible = {n["hipaa_eligible"] for a in accounts for n in a["numbers"]}
    caller_id = {p["callerid_enabled"] for a in accounts for p in a["call_settings"]}
    assert encrypted == eligible == caller_id == {True, False}


def test_every_generated_account_reads_through_the_mapping() -> None:
    backend = SandboxBackend(generate_agency(30, seed=3), page_cap=7)
    provider = CtmProvider(InProcessTransport(backend), EndpointTable({}))
    infos = provider.list_accounts()
    assert len(infos) == 30
    for info in infos:
        state = provider.read_account(info, frozenset(RESOURCE_KINDS))
        assert state.users is not None
        assert len({u.key for u in state.users}) == len(state.users)
