"""Reports for render tests: one with every kind of result, built from the policy
tests' compliant world bent in a few places."""

from __future__ import annotations

import datetime as dt

from hipaactl.config.model import AccountSelector, Config
from hipaactl.live.scope import classify_accounts
from hipaactl.model.state import LiveState
from hipaactl.policy.model import Pack
from hipaactl.report.check import Report, build_report
from tests.policy.builders import (
    TODAY,
    account,
    attestations,
    builtin_packs,
    config,
    info,
    live,
    notification,
    number,
    override,
    profile,
    security,
    settings,
)

NOON = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.timezone.utc)
CURRENT = builtin_packs("ctm-hipaa-current")
CONFIG_URI = "clinic/hipaa.toml"
KEY_LINES = {
    "agency.security.idle_timeout_minutes": 11,
    "defaults.redaction": 20,
    "defaults.caller_id.enabled": 21,
}
# A notification id that would break a Markdown table or smuggle HTML if not escaped.
ODD_ID = "N|<b>x</b>"


def report_of(
    world: Config | None = None,
    state: LiveState | None = None,
    packs: tuple[Pack, ...] = CURRENT,
    at: dt.datetime = NOON,
    config_uri: str = CONFIG_URI,
) -> Report:
    world = world if world is not None else config()
    state = state if state is not None else live()
    scope = classify_accounts(world, state.all_accounts)
    return build_report(
        world,
        packs,
        state,
        scope,
        evaluated_at=at,
        config_uri=config_uri,
        config_sha256="c" * 64,
    )


def mixed_world() -> Config:
    """Missing BAA (manual), a current override on redaction (waived), only 1001 managed."""
    return config(
        attestations=attestations(baa=None),
        overrides=(override("CTM-RED-01"),),
        selector=AccountSelector(include=(1001,)),
        key_lines=KEY_LINES,
    )


def mixed_state() -> LiveState:
    """A mandatory failure (idle timeout), advisory ones (caller ID, PHI in a
    notification), an unreadable number (error), no redaction (waived), and an
    unclassified account."""
    return live(
        account(
            settings=settings(redaction_schedule="off"),
            call_settings=(profile(callerid_enabled=True),),
            numbers=(number("TPN1", eligible=None),),
            notifications=(notification(ODD_ID, fields=("caller_name",)),),
        ),
        agency_security=security(idle_timeout_minutes=60),
        others=(info(2000, name="Unknown clinic"),),
    )


def mixed_report(at: dt.datetime = NOON, config_uri: str = CONFIG_URI) -> Report:
    return report_of(mixed_world(), mixed_state(), at=at, config_uri=config_uri)


def clean_report() -> Report:
    return report_of()
