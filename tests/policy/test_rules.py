"""Every rule of both built-in packs, passing and failing, over live state.

The baseline world (``config()`` and ``live()``) satisfies every rule of both packs; each
case bends it in one place. A new rule without a failing case here fails
``test_every_rule_has_a_failing_case``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from hipaactl.config.model import (
    AccountSelector,
    AgencySecurityDesired,
    AllowedIntegration,
    BaaAttestation,
    Config,
    Exclusion,
)
from hipaactl.live.scope import classify_accounts
from hipaactl.model.state import LiveState, Trigger
from hipaactl.policy.gate import evaluate_live
from hipaactl.policy.model import RuleResult, Status
from tests.builders import webhook

from .builders import (
    TODAY,
    account,
    attestations,
    builtin_packs,
    config,
    extended_pack,
    info,
    integration,
    live,
    notification,
    number,
    profile,
    security,
    settings,
    trigger,
    user,
)

PACKS = {pack.id: pack for pack in (*builtin_packs(), extended_pack())}
PREFIXES = {"CTM18-": "ctm-hipaa-2018", "CTM-": "ctm-hipaa-current", "CTMX-": "ctm-hipaa-extended"}


@dataclass(frozen=True)
class Case:
    rule_id: str
    label: str
    status: Status
    config: Config = field(default_factory=config)
    live: LiveState = field(default_factory=live)
    address: str | None = None
    fragment: str | None = None


def both(suffix: str, label: str, status: Status, **kwargs: object) -> list[Case]:
    editions = ("CTM18-", "CTM-")
    return [Case(prefix + suffix, label, status, **kwargs) for prefix in editions]  # type: ignore[arg-type]


def admins(count: int, others: int) -> tuple[object, ...]:
    """``count`` admins and ``others`` agents of one account."""
    return (
        *(user(f"admin{k}@clinic.example", role="admin") for k in range(count)),
        *(user(f"agent{k}@clinic.example", role="agent") for k in range(others)),
    )


def stale_baa() -> Config:
    baa = BaaAttestation(
        counterparty="CallTrackingMetrics",
        effective_on=dt.date(2024, 12, 1),
        confirmed_on=dt.date(2025, 1, 2),  # 515 days before TODAY
        by="compliance@clinic.example",
    )
    return config(attestations=attestations(baa=baa))


UNCLASSIFIED = live(account(), others=(info(1999, name="Marketing sandbox"),))
ONLY_1001 = AccountSelector(include=(1001,))
NO_RECORDING = (profile(inbound_recordings_on=False, outbound_recording_on=False),)

CASES: list[Case] = [
    # plan
    *both(
        "PLAN-01",
        "unknown plan",
        "fail",
        live=live(account(plan="Starter")),
        address="account[1001].plan",
        fragment='plan is "starter"',
    ),
    Case(
        "CTM-PLAN-01",
        "Marketing Pro is normalized",
        "pass",
        live=live(account(plan="Marketing Pro")),
    ),
    Case(
        "CTM18-PLAN-01",
        "2018 does not know Marketing Pro",
        "fail",
        live=live(account(plan="Marketing Pro")),
        fragment='plan is "marketing_pro"',
    ),
    Case(
        "CTM18-PLAN-01",
        "Contact Center was eligible in 2018",
        "pass",
        live=live(account(plan="Contact Center")),
    ),
    Case(
        "CTM-PLAN-01",
        "Contact Center is not eligible now",
        "fail",
        live=live(account(plan="Contact Center")),
    ),
    # attestations
    *both(
        "BAA-01",
        "no BAA attested",
        "manual",
        config=config(attestations=attestations(baa=None)),
        address="attestation.baa",
        fragment="no [attestations.baa] in the config",
    ),
    *both(
        "BAA-01",
        "stale BAA",
        "manual",
        config=stale_baa(),
        fragment="confirmed_on 2025-01-02 is not within the last 365 days",
    ),
    *both(
        "LOGIN-01",
        "no individual-logins attestation",
        "manual",
        config=config(attestations=attestations(individual_logins=None)),
        address="attestation.individual_logins",
    ),
    *both(
        "LOGIN-02",
        "shared mailbox user",
        "fail",
        live=live(account(users=(user("FrontDesk@clinic.example"),))),
        address='account[1001].user["frontdesk@clinic.example"]',
        fragment='local_part is "frontdesk" (must not be one of the shared-mailbox names)',
    ),
    *both(
        "LOGIN-02",
        "a person whose name starts like a mailbox",
        "pass",
        live=live(account(users=(user("front.desk.lee@clinic.example"),))),
    ),
    # agency security
    *both(
        "SEC-01",
        "idle timeout of an hour",
        "fail",
        live=live(agency_security=security(idle_timeout_minutes=60)),
        address="agency.security",
        fragment="idle_timeout_minutes is 60 (must be <= 15)",
    ),
    *both(
        "SEC-02",
        "two-factor off",
        "fail",
        live=live(agency_security=security(two_factor="off")),
        fragment='two_factor is "off"',
    ),
    *both(
        "SEC-02",
        "two-factor every 30 days",
        "pass",
        live=live(agency_security=security(two_factor="every_30_days")),
    ),
    *both(
        "SEC-03",
        "recordings without login",
        "fail",
        live=live(agency_security=security(require_login_for_recordings=False)),
        fragment="require_login_for_recordings is false (must be true)",
    ),
    # encryption
    *both(
        "ENC-01",
        "unencrypted recordings",
        "fail",
        live=live(account(settings=settings(encrypted_recordings=False))),
        address="account[1001].settings",
        fragment="encrypted_recordings is false",
    ),
    *both(
        "ENC-01",
        "no profile records",
        "not_applicable",
        live=live(
            account(settings=settings(encrypted_recordings=False), call_settings=NO_RECORDING)
        ),
    ),
    *both(
        "ENC-02",
        "unencrypted storage",
        "fail",
        live=live(account(settings=settings(encrypted_recording_storage=False))),
        fragment="encrypted_recording_storage is false",
    ),
    *both(
        "ENC-02",
        "records outbound only",
        "fail",
        live=live(
            account(
                settings=settings(encrypted_recording_storage=False),
                call_settings=(profile(inbound_recordings_on=False, outbound_recording_on=True),),
            )
        ),
    ),
    *both(
        "ENC-02",
        "no profile records",
        "not_applicable",
        live=live(
            account(
                settings=settings(encrypted_recording_storage=False), call_settings=NO_RECORDING
            )
        ),
    ),
    # transcription
    Case(
        "CTM18-TRN-01",
        "enhanced transcription",
        "fail",
        live=live(account(settings=settings(transcription_mode="enhanced"))),
        fragment='transcription_mode is "enhanced" (must not be "enhanced")',
    ),
    Case(
        "CTM18-TRN-01",
        "standard transcription was fine in 2018",
        "pass",
        live=live(account(settings=settings(transcription_mode="standard"))),
    ),
    Case(
        "CTM-TRN-01",
        "standard transcription",
        "fail",
        live=live(account(settings=settings(transcription_mode="standard"))),
        fragment='transcription_mode is "standard" (must be "secure")',
    ),
    *both(
        "TRN-01",
        "no profile transcribes",
        "not_applicable",
        live=live(
            account(
                settings=settings(transcription_mode="enhanced"),
                call_settings=(profile(transcription=False),),
            )
        ),
    ),
    # redaction
    *both(
        "RED-01",
        "no redaction",
        "fail",
        live=live(account(settings=settings(redaction_schedule="off"))),
    ),
    Case(
        "CTM18-RED-01",
        "manual redaction counted in 2018",
        "pass",
        live=live(account(settings=settings(redaction_schedule="manual"))),
    ),
    Case(
        "CTM-RED-01",
        "manual redaction is not automatic",
        "fail",
        live=live(account(settings=settings(redaction_schedule="manual"))),
        fragment='redaction_schedule is "manual"',
    ),
    # PHI leaving CTM
    *both(
        "PHI-01",
        "notification sends PHI",
        "fail",
        live=live(
            account(
                notifications=(notification(fields=("call_date", "transcription", "caller_name")),)
            )
        ),
        address='account[1001].notification["N1"]',
        fragment="fields include PHI: caller_name, transcription",
    ),
    *both(
        "PHI-01",
        "recording link without login",
        "fail",
        live=live(
            account(notifications=(notification(fields=("recording_url",)),)),
            agency_security=security(require_login_for_recordings=False),
        ),
        fragment="fields include PHI: recording_url",
    ),
    *both(
        "PHI-01",
        "recording link behind a login",
        "pass",
        live=live(account(notifications=(notification(fields=("recording_url",)),))),
    ),
    *both(
        "PHI-01",
        "declared login requirement wins over live",
        "pass",
        config=config(agency_security=AgencySecurityDesired(require_login_for_recordings=True)),
        live=live(
            account(notifications=(notification(fields=("recording_url",)),)),
            agency_security=security(require_login_for_recordings=False),
        ),
    ),
    *both(
        "PHI-02",
        "trigger sends tags",
        "fail",
        live=live(account(triggers=(trigger(fields=("tags", "duration")),))),
        address='account[1001].trigger["T1"]',
        fragment="placeholders include PHI: tags",
    ),
    # caller ID
    *both(
        "CID-01",
        "caller ID on",
        "fail",
        live=live(account(call_settings=(profile(), profile("CS2", callerid_enabled=True)))),
        address='account[1001].call_settings["CS2"]',
        fragment="callerid_enabled is true",
    ),
    Case(
        "CTM-CID-02",
        "enhanced caller ID on",
        "fail",
        live=live(account(call_settings=(profile(premium_callerid_enabled=True),))),
        address='account[1001].call_settings["CS1"]',
    ),
    # tracking numbers
    Case(
        "CTM-NUM-01",
        "number not eligible",
        "fail",
        live=live(account(numbers=(number(), number("TPN2", eligible=False)))),
        address='account[1001].number["TPN2"]',
        fragment="hipaa_eligible is false",
    ),
    # integrations
    Case(
        "CTM-INT-01",
        "integration not on the allow list",
        "fail",
        live=live(account(integrations=(integration("I2", "HubSpot"),))),
        address='account[1001].integration["I2"]',
        fragment='name is "hubspot" (must be one of the [integrations] allow list',
    ),
    Case(
        "CTM-INT-01",
        "allowed without a BAA",
        "fail",
        config=config(integrations=(AllowedIntegration(name="HubSpot", baa=False),)),
        live=live(account(integrations=(integration("I2", "HubSpot"),))),
        fragment="no BAA: hubspot is allowed in [integrations] with baa = false",
    ),
    Case(
        "CTM-INT-01",
        "no [integrations] means an empty allow list",
        "fail",
        config=config(integrations=None),
        fragment="which is empty",
    ),
    Case(
        "CTM-INT-01",
        "disabled integration",
        "not_applicable",
        live=live(account(integrations=(integration("I2", "HubSpot", enabled=False),))),
    ),
    # scope
    *both(
        "SCOPE-01",
        "unclassified account",
        "fail",
        config=config(selector=ONLY_1001),
        live=UNCLASSIFIED,
        address="account[1999]",
        fragment='classification is "unclassified"',
    ),
    *both(
        "SCOPE-01",
        "excluded account",
        "pass",
        config=config(
            selector=AccountSelector(
                include=(1001,), exclude=(Exclusion(reason="marketing sandbox", id=1999),)
            )
        ),
        live=UNCLASSIFIED,
    ),
    # agency security binds the accounts
    *both(
        "SEC-04",
        "accounts may override the agency's security",
        "fail",
        live=live(agency_security=security(allow_account_override=True)),
        address="agency.security",
        fragment="allow_account_override is true (must be false)",
    ),
    # webhooks
    *both(
        "WHK-01",
        "a webhook posts over plain http",
        "fail",
        live=live(account(webhooks=(webhook("W1"), webhook("W2", url_scheme="http")))),
        address='account[1001].webhook["W2"]',
        fragment="https is false (must be true)",
    ),
    Case(
        "CTM-WHK-02",
        "a webhook posts to a receiver not on the allow list",
        "fail",
        config=config(integrations=(AllowedIntegration(name="Salesforce", baa=True),)),
        address='account[1001].webhook["W1"]',
        fragment='host is "ehr.clinic.example"',
    ),
    Case(
        "CTM-WHK-02",
        "a receiver allowed without a BAA",
        "fail",
        config=config(
            integrations=(AllowedIntegration(name="EHR", baa=False, host="ehr.clinic.example"),)
        ),
        fragment="no BAA: the receiver ehr.clinic.example",
    ),
    Case(
        "CTM-WHK-02",
        "no [integrations] table: every receiver is unknown",
        "fail",
        config=config(integrations=None),
    ),
    # triggers: every string of every action, placeholders in any form and case
    *both(
        "PHI-02",
        "a placeholder in another case and form",
        "fail",
        live=live(
            account(
                triggers=(
                    Trigger(
                        id="T9",
                        name="Lead",
                        action_types=("send_sms",),
                        texts=("Call from [Caller_Number] about {{ CALLER_NAME }}",),
                    ),
                )
            )
        ),
        address='account[1001].trigger["T9"]',
        fragment="caller_name, caller_number",
    ),
    *both(
        "PHI-02",
        "an action that cannot be read",
        "error",
        live=live(account(triggers=(trigger("T1", fields=None),))),
        address='account[1001].trigger["T1"]',
    ),
    # the extended pack
    Case(
        "CTMX-MFA-01",
        "email accepted as a second factor",
        "fail",
        live=live(agency_security=security(allow_email_mfa=True)),
        fragment="allow_email_mfa is true",
    ),
    Case(
        "CTMX-LNK-01",
        "recording links never expire",
        "fail",
        live=live(agency_security=security(recording_link_expiry_days=0)),
        fragment="recording_link_expiry_days is 0",
    ),
    Case(
        "CTMX-LNK-02",
        "recording links live for 90 days",
        "fail",
        live=live(agency_security=security(recording_link_expiry_days=90)),
        fragment="recording_link_expiry_days is 90",
    ),
    Case(
        "CTMX-ADM-01",
        "4 admins among 20 users",
        "fail",
        live=live(account(users=admins(4, 16))),
        address="account[1001]",
        fragment="admins_over_limit is 1 (must be 0)",
    ),
    Case(
        "CTMX-ADM-01",
        "5 admins among 50 users (10%)",
        "pass",
        live=live(account(users=admins(5, 45))),
    ),
    Case(
        "CTMX-ADM-01",
        "users not read",
        "error",
        live=live(account(users=None)),
        address="account[1001]",
    ),
    Case(
        "CTMX-USR-01",
        "an inactive user is kept",
        "fail",
        live=live(account(users=(user(), user("old@clinic.example", status="inactive")))),
        address='account[1001].user["old@clinic.example"]',
        fragment='status is "inactive"',
    ),
]


def _results(case: Case) -> list[RuleResult]:
    pack = PACKS[next(p for prefix, p in PREFIXES.items() if case.rule_id.startswith(prefix))]
    scope = classify_accounts(case.config, case.live.all_accounts)
    results, _ = evaluate_live(case.config, (pack,), case.live, scope, today=TODAY)
    return [r for r in results if r.rule.id == case.rule_id]


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_baseline_passes_every_rule(pack_id: str) -> None:
    world = config()
    state = live()
    scope = classify_accounts(world, state.all_accounts)
    results, warnings = evaluate_live(world, (PACKS[pack_id],), state, scope, today=TODAY)
    assert warnings == ()
    assert {r.rule.id for r in results} == {rule.id for rule in PACKS[pack_id].rules}
    assert [(r.rule.id, r.address, r.message) for r in results if r.status != "pass"] == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.rule_id}: {c.label}")
def test_rule_case(case: Case) -> None:
    results = _results(case)
    assert results, f"{case.rule_id} produced no result"
    if case.status in ("pass", "not_applicable"):
        assert [r.message for r in results if r.status != case.status] == []
        return
    failing = [r for r in results if r.status == case.status]
    assert failing, [(r.address, r.status, r.message) for r in results]
    if case.address is not None:
        assert case.address in {r.address for r in failing}
    if case.fragment is not None:
        assert any(case.fragment in r.message for r in failing), [r.message for r in failing]


def test_every_rule_has_a_failing_case() -> None:
    failing = {c.rule_id for c in CASES if c.status != "pass"}
    rule_ids = {rule.id for pack in PACKS.values() for rule in pack.rules}
    assert rule_ids - failing == set()
    assert failing - rule_ids == set()
