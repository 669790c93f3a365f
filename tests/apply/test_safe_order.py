"""Issue 13, item 1: no state an apply leaves behind is weaker than its start.

A plan is made the way ``plan`` makes it (diff, safety dependencies, unsafe guard) from
a random start and a random desired state; only safe plans are applied (an unsafe one
needs --force, and is then the user's decision), less a random subset left out as
``--target`` would. The provider is a model of CTM that fails a random subset of writes,
before the work or after it (reply lost), and the apply is stopped after a random
number of writes. Whatever happened, the live state it
leaves must not be weaker than the start: no field the unsafe guard watches moved the
weak way, and no profile records while encryption is off, or transcribes while
transcription is not secure, unless it did so at the start or the full plan asks for it.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipaactl.apply.executor import apply_changes
from hipaactl.config.model import AccountDesired, AgencySecurityDesired
from hipaactl.errors import ProviderError, UncertainWriteError
from hipaactl.model.changes import Change
from hipaactl.model.state import (
    REDACTION_SCHEDULES,
    TRANSCRIPTION_MODES,
    TWO_FACTOR_MODES,
    AccountSettings,
    AccountState,
    AgencySecurity,
    CallSettings,
    LiveState,
)
from hipaactl.plan.dependencies import add_safety_dependencies
from hipaactl.plan.diff import diff_live
from hipaactl.plan.unsafe import mark_unsafe, unsafe_reasons
from tests import builders

ACCOUNT_IDS = (1001, 1002)
Document = dict[str, dict[str, Any]]

flags = st.booleans()
agencies = st.builds(
    AgencySecurity,
    idle_timeout_minutes=st.sampled_from((5, 15, 60)),
    two_factor=st.sampled_from(TWO_FACTOR_MODES),
    require_login_for_recordings=flags,
)
account_settings = st.builds(
    AccountSettings,
    encrypted_recordings=flags,
    encrypted_recording_storage=flags,
    transcription_mode=st.sampled_from(TRANSCRIPTION_MODES),
    redaction_schedule=st.sampled_from(REDACTION_SCHEDULES),
)


@st.composite
def profiles(draw: st.DrawFn) -> tuple[CallSettings, ...]:
    count = draw(st.integers(1, 2))
    return tuple(
        CallSettings(
            id=f"CS{n}",
            name=f"Profile {n}",
            inbound_recordings_on=draw(flags),
            outbound_recording_on=draw(flags),
            transcription=draw(flags),
            callerid_enabled=draw(flags),
            premium_callerid_enabled=draw(flags),
        )
        for n in range(count)
    )


@st.composite
def accounts(draw: st.DrawFn, account_id: int) -> AccountState:
    return builders.account(
        account_id, settings=draw(account_settings), call_settings=draw(profiles())
    )


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | values


# Desired values lean strong: a plan that weakens is refused, so it tests nothing here.
desired_accounts = st.builds(
    AccountDesired,
    recordings_enabled=maybe(flags),
    recordings_encrypted=maybe(st.just(True)),
    recordings_encrypted_storage=maybe(st.just(True)),
    transcription=maybe(st.sampled_from(("off", "standard", "secure"))),
    redaction=maybe(st.just("daily")),
    caller_id_enabled=maybe(st.just(False)),
    caller_id_enhanced=maybe(st.just(False)),
)
desired_agencies = st.builds(
    AgencySecurityDesired,
    idle_timeout_minutes=maybe(st.just(5)),
    two_factor=maybe(st.just("every_login")),
    require_login_for_recordings=maybe(st.just(True)),
)


class ModelProvider:
    """CTM as a dict of resource address -> fields. ``failing`` maps an address to
    ``before`` (the write is refused) or ``after`` (made, then the reply is lost);
    ``stop`` is set once ``stop_after`` writes were attempted."""

    def __init__(
        self,
        document: Document,
        failing: dict[str, str],
        stop: threading.Event,
        stop_after: int | None,
    ) -> None:
        self.document = document
        self.failing = failing
        self.stop = stop
        self.stop_after = stop_after
        self.attempts = 0
        self.lock = threading.Lock()

    def apply_change(self, change: Change) -> None:
        with self.lock:
            self.attempts += 1
            if self.stop_after is not None and self.attempts >= self.stop_after:
                self.stop.set()
            how = self.failing.get(change.address)
            if how == "before":
                raise ProviderError("service unavailable", status=503, endpoint="PUT /x")
            self.document[change.address].update(change.after or {})
            if how == "after":
                raise UncertainWriteError("no reply", status=503, endpoint="PUT /x")

    def close(self) -> None:
        return None


def document_of(live: LiveState) -> Document:
    assert live.agency_security is not None
    document: Document = {"agency.security": _fields(live.agency_security)}
    for account in live.accounts:
        assert account.settings is not None
        document[f"account[{account.id}].settings"] = _fields(account.settings)
        for profile in account.call_settings or ():
            address = f'account[{account.id}].call_settings["{profile.id}"]'
            document[address] = {
                k: v for k, v in _fields(profile).items() if k not in ("id", "name")
            }
    return document


def _fields(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


def from_start_to(start: Document, end: Document) -> list[Change]:
    """What moved between two documents, as the updates that would move it."""
    changes = []
    for address, values in end.items():
        moved = {k: v for k, v in values.items() if start[address][k] != v}
        if not moved:
            continue
        resource_type = _resource_type(address)
        account_id = None if address == "agency.security" else int(address[8:12])
        before = {k: start[address][k] for k in moved}
        changes.append(Change(address, resource_type, "update", before, moved, (), account_id))
    return changes


def _resource_type(address: str) -> Any:
    if address == "agency.security":
        return "agency.security"
    return "settings" if address.endswith(".settings") else "call_settings"


def insecure_transcription(document: Document) -> set[str]:
    """Profiles that transcribe while their account's transcription is not secure."""
    found = set()
    for address, values in document.items():
        if _resource_type(address) == "call_settings" and values["transcription"]:
            mode = document[f"{address[:13]}.settings"]["transcription_mode"]
            if mode != "secure":
                found.add(address)
    return found


def planned_end(start: Document, changes: list[Change]) -> Document:
    end = {address: dict(values) for address, values in start.items()}
    for change in changes:
        end[change.address].update(change.after or {})
    return end


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(
    agency=agencies,
    first=accounts(ACCOUNT_IDS[0]),
    second=accounts(ACCOUNT_IDS[1]),
    wanted_agency=desired_agencies,
    wanted=desired_accounts,
    faults=st.data(),
)
def test_no_failed_or_unstarted_subset_leaves_state_weaker_than_the_start(
    agency: AgencySecurity,
    first: AccountState,
    second: AccountState,
    wanted_agency: AgencySecurityDesired,
    wanted: AccountDesired,
    faults: st.DataObject,
) -> None:
    live = builders.live(first, second, agency_security=agency)
    config = builders.config(agency_security=wanted_agency, defaults=wanted)
    changes = list(mark_unsafe(add_safety_dependencies(diff_live(config, (), live)), live))
    if any(change.unsafe for change in changes):
        return  # refused without --force; with it, the weakening is the user's decision
    addresses = [change.address for change in changes]
    failing = faults.draw(
        st.just({})
        | st.dictionaries(st.sampled_from(addresses), st.sampled_from(("before", "after")))
        if addresses
        else st.just({})
    )
    stop_after = faults.draw(st.none() | st.integers(1, max(1, len(changes))))
    # --target leaves some changes out of the plan apply sees.
    untargeted = faults.draw(st.sets(st.sampled_from(addresses)) if addresses else st.just(set()))
    applied = [change for change in changes if change.address not in untargeted]
    start = document_of(live)
    stop = threading.Event()
    provider = ModelProvider(document_of(live), failing, stop, stop_after)

    report = apply_changes(applied, provider, parallelism=2, stop=stop)  # type: ignore[arg-type]

    left = provider.document
    if not failing and stop_after is None and not untargeted:
        assert report.succeeded  # the order lets every dependency go first
    assert unsafe_reasons(from_start_to(start, left), live) == {}
    end = planned_end(start, applied)
    assert insecure_transcription(left) <= insecure_transcription(start) | insecure_transcription(
        end
    )


def test_recording_waits_for_the_encryption_it_needs_and_is_skipped_when_it_fails() -> None:
    live = builders.live(
        builders.account(
            1001,
            settings=builders.settings(encrypted_recordings=False),
            call_settings=(builders.profile(inbound_recordings_on=False),),
        )
    )
    config = builders.config(
        defaults=AccountDesired(recordings_enabled=True, recordings_encrypted=True)
    )
    changes = add_safety_dependencies(diff_live(config, (), live))
    by_address = {change.address: change for change in changes}
    profile = by_address['account[1001].call_settings["CS1"]']
    assert profile.depends_on == ("account[1001].settings",)
    stop = threading.Event()
    provider = ModelProvider(
        document_of(live), {"account[1001].settings": "before"}, stop, stop_after=None
    )

    report = apply_changes(changes, provider, parallelism=1)  # type: ignore[arg-type]

    outcomes = {r.change.address: (r.outcome, r.reason) for r in report.results}
    assert outcomes['account[1001].call_settings["CS1"]'] == (
        "skipped",
        "depends on account[1001].settings, which was failed",
    )
    assert provider.document['account[1001].call_settings["CS1"]']["inbound_recordings_on"] is False


def test_a_profile_change_that_turns_nothing_on_does_not_wait() -> None:
    live = builders.live(
        builders.account(
            1001,
            settings=builders.settings(encrypted_recordings=False),
            call_settings=(builders.profile(callerid_enabled=True),),
        )
    )
    config = builders.config(
        defaults=AccountDesired(caller_id_enabled=False, recordings_encrypted=True)
    )
    changes = add_safety_dependencies(diff_live(config, (), live))
    assert all(change.depends_on == () for change in changes)
    assert replace(changes[0], depends_on=()) == changes[0]
