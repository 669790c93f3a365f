"""Property: for any desired and live state, applying the plan and planning again yields
no changes (idempotent convergence), through the real mapping layer and sandbox backend."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipaactl.apply.executor import apply_changes
from hipaactl.config.model import AccountDesired, AgencySecurityDesired, UserDesired
from hipaactl.model.state import REDACTION_SCHEDULES, ROLES, TRANSCRIPTION_MODES, TWO_FACTOR_MODES
from hipaactl.pipeline import Inputs, PlanOptions, build_plan
from hipaactl.policy.gate import evaluate_gate
from hipaactl.policy.packs import load_packs
from hipaactl.providers.ctm.endpoints import EndpointTable
from hipaactl.providers.ctm.mapping import CtmProvider
from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.inprocess import InProcessTransport
from tests import builders as b

PACKS = load_packs(("ctm-hipaa-current",), base_dir=b.Path("."))
EMAILS = ("ada@x.org", "ben@x.org", "Chloe@x.org", "frontdesk@x.org")
FIELDS = ("call_start", "source", "caller_name", "caller_zip", "recording_url", "tags")
TODAY = dt.date(2026, 11, 25)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


live_users = st.lists(
    st.tuples(st.sampled_from(EMAILS), st.sampled_from(ROLES)),
    unique_by=lambda pair: pair[0].lower(),
    max_size=4,
)


@st.composite
def live_account(draw: st.DrawFn, account_id: int) -> dict[str, Any]:
    profiles = draw(
        st.lists(
            st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans()),
            min_size=1,
            max_size=3,
        )
    )
    lists = [draw(st.lists(st.sampled_from(FIELDS), unique=True)) for _ in range(2)]
    return {
        "id": account_id, "name": f"Clinic {account_id}", "status": "active", "plan": "Advanced",
        "settings": {
            "encrypted_recordings": draw(st.booleans()),
            "encrypted_recording_storage": draw(st.booleans()),
            "transcription_mode": draw(st.sampled_from(TRANSCRIPTION_MODES)),
            "redaction_schedule": draw(st.sampled_from(REDACTION_SCHEDULES)),
        },
        "call_settings": [
            {"id": f"CS{i}", "name": f"P{i}", "inbound_recordings_on": p[0],
             "outbound_recording_on": p[1], "transcription": p[2], "callerid_enabled": p[3],
             "premium_callerid_enabled": p[4]}
            for i, p in enumerate(profiles)
        ],
        "users": [
            {"id": f"{account_id}{i}", "email": email, "first_name": "F", "last_name": "L",
             "role": role, "status": "active"}
            for i, (email, role) in enumerate(draw(live_users))
        ],
        "numbers": [], "integrations": [],
        "notifications": [{"id": "N1", "name": "n", "kind": "email", "fields": lists[0]}],
        "triggers": [{"id": "T1", "name": "t", "kind": "sms", "fields": lists[1]}],
    }  # fmt: skip


@st.composite
def account_desired(draw: st.DrawFn) -> AccountDesired:
    users = tuple(
        UserDesired(email=email.upper() if draw(st.booleans()) else email, first_name="Fn",
                    last_name="Ln", role=role)
        for email, role in draw(live_users)
    )  # fmt: skip
    exact = bool(users) and draw(st.booleans())
    return AccountDesired(
        recordings_enabled=draw(maybe(st.booleans())),
        recordings_encrypted=draw(maybe(st.booleans())),
        recordings_encrypted_storage=draw(maybe(st.booleans())),
        transcription=draw(maybe(st.sampled_from(("off", *TRANSCRIPTION_MODES)))),
        redaction=draw(maybe(st.sampled_from(REDACTION_SCHEDULES))),
        caller_id_enabled=draw(maybe(st.booleans())),
        caller_id_enhanced=draw(maybe(st.booleans())),
        phi_fields=draw(maybe(st.sampled_from(("strip", "keep")))),
        users_mode="exact" if exact else None,
        users=users,
    )


agency_desired = st.builds(
    AgencySecurityDesired,
    idle_timeout_minutes=maybe(st.integers(1, 1440)),
    two_factor=maybe(st.sampled_from(TWO_FACTOR_MODES)),
    require_login_for_recordings=maybe(st.booleans()),
)


def plan_for(config: Any, provider: CtmProvider) -> Any:
    inputs = Inputs(config, PACKS, evaluate_gate(config, PACKS, today=TODAY))
    return build_plan(inputs, provider, PlanOptions(clock=lambda: dt.datetime(2026, 11, 25)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    security=st.fixed_dictionaries({
        "idle_timeout_minutes": st.integers(1, 1440),
        "two_factor": st.sampled_from(TWO_FACTOR_MODES),
        "require_login_for_recordings": st.booleans(),
    }),
    first=live_account(1001),
    second=live_account(1002),
    agency=agency_desired,
    defaults=account_desired(),
    override=account_desired(),
)  # fmt: skip
def test_apply_then_plan_is_empty(
    security: dict[str, Any],
    first: dict[str, Any],
    second: dict[str, Any],
    agency: AgencySecurityDesired,
    defaults: AccountDesired,
    override: AccountDesired,
) -> None:
    document = {"agency": {"security": security}, "accounts": [first, second]}
    provider = CtmProvider(InProcessTransport(SandboxBackend(document)), EndpointTable({}))
    # [defaults] may not declare users; the [[account]] override for 1002 may.
    config = b.config(
        agency_security=agency,
        defaults=AccountDesired(**{**defaults.__dict__, "users": (), "users_mode": None}),
        accounts=((1002, override),),
    )
    report = apply_changes(plan_for(config, provider).changes, provider, parallelism=2)
    assert report.succeeded, [(r.change.address, r.reason) for r in report.results]
    assert plan_for(config, provider).changes == ()
