"""The clinic example's seed breaks the checklist in the ways its README tour relies on."""

from __future__ import annotations

import json

import pytest

from hipaactl.model.state import RESOURCE_KINDS, AccountState
from hipaactl.policy.views import placeholders
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.mapping import CtmProvider
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.inprocess import InProcessTransport
from hipaactl.providers.sandbox.workcopy import default_seed_path

PHI_IN_EXAMPLE = {"caller_name", "caller_number", "transcription", "recording_url"}


@pytest.fixture(scope="module")
def clinic() -> dict[int, AccountState]:
    document = json.loads(default_seed_path().read_text(encoding="utf-8"))
    provider = CtmProvider(InProcessTransport(SandboxBackend(document)), EndpointTable({}))
    security = provider.read_agency_security()
    assert (security.idle_timeout_minutes, security.two_factor) == (60, "off")
    assert security.require_login_for_recordings is False
    return {
        info.id: provider.read_account(info, frozenset(RESOURCE_KINDS))
        for info in provider.list_accounts()
    }


def test_four_accounts_with_an_ineligible_plan(clinic: dict[int, AccountState]) -> None:
    assert sorted(clinic) == [1001, 1002, 1003, 1999]
    assert clinic[1002].info.plan == "Basic"


def test_downtown_breaks_the_checklist_in_many_ways(clinic: dict[int, AccountState]) -> None:
    downtown = clinic[1001]
    assert downtown.settings is not None
    assert downtown.settings.encrypted_recordings is False
    assert downtown.settings.transcription_mode == "enhanced"
    assert downtown.settings.redaction_schedule == "off"
    assert downtown.call_settings is not None
    assert any(p.callerid_enabled and p.premium_callerid_enabled for p in downtown.call_settings)
    assert downtown.users is not None
    assert "frontdesk@downtown-clinic.example" in {u.key for u in downtown.users}
    assert downtown.numbers is not None
    assert False in {n.hipaa_eligible for n in downtown.numbers}
    assert downtown.integrations is not None
    assert downtown.integrations[0].name == "salesforce"
    assert downtown.notifications is not None
    assert set(downtown.notifications[0].fields or ()) >= PHI_IN_EXAMPLE
    assert downtown.triggers is not None
    assert set(placeholders(downtown.triggers[0].texts or ())) >= PHI_IN_EXAMPLE


def test_the_seed_has_the_real_api_shapes(clinic: dict[int, AccountState]) -> None:
    """String user ids, no plan in the account list, webhooks whose receiver
    credentials never reach state (ctm-api-evidence.md)."""
    document = json.loads(default_seed_path().read_text(encoding="utf-8"))
    assert all(isinstance(u["id"], str) for a in document["accounts"] for u in a["users"])
    assert all("routing_rules" in t for a in document["accounts"] for t in a["triggers"])
    downtown = clinic[1001]
    assert downtown.info.plan == "Advanced"  # read from the account detail
    assert downtown.webhooks is not None
    assert (downtown.webhooks[0].scheme, downtown.webhooks[0].host) == (
        "https",
        "ehr.downtown-clinic.example",
    )
    assert "sandbox-receiver-secret" not in repr(clinic)
