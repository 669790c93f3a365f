"""The built-in packs encode the checklists: every bullet is quoted by a rule, every
quote is verbatim, and enforcement and citations follow SPEC section 7.

The checklists are copied into ``fixtures/`` as published (2018 as plain text, the
current edition as Markdown).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hipaactl.policy.model import Rule

from .builders import builtin_packs

FIXTURES = Path(__file__).parent / "fixtures"
# The checklist part of each edition: (file, first line of the part, first line after it).
EDITIONS = {
    "ctm-hipaa-2018": (
        "ctm-hipaa-checklist-2018.txt",
        "Recommended Tools and Settings",
        "The list above is not meant",
    ),
    "ctm-hipaa-current": (
        "ctm-hipaa-checklist-current.txt",
        "## Requirements:",
        "This checklist is meant",
    ),
}
QUOTE_SEPARATOR = " … "  # joins non-adjacent parts of one bullet in a rule's source
BULLET = re.compile(r"^\s*(?:•|-)\s+(.*)$")

PACKS = {pack.id: pack for pack in builtin_packs()}


def normalize(text: str) -> str:
    """Markdown emphasis and links out, whitespace collapsed: the words as a reader sees them."""
    text = text.replace("**", "")
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return " ".join(text.split())


def checklist_text(pack_id: str) -> str:
    name, _, _ = EDITIONS[pack_id]
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return normalize(" ".join(BULLET.sub(r"\1", line) for line in lines))


def bullets(pack_id: str) -> list[str]:
    name, start, stop = EDITIONS[pack_id]
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i, line in enumerate(lines) if line.startswith(stop))
    found = [BULLET.match(line) for line in lines[first:last]]
    return [normalize(m.group(1)) for m in found if m and m.group(1).strip()]


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0]


def rule(rule_id: str) -> Rule:
    return next(r for pack in PACKS.values() for r in pack.rules if r.id == rule_id)


@pytest.mark.parametrize("pack_id", sorted(EDITIONS))
def test_the_checklist_part_has_bullets(pack_id: str) -> None:
    # Guards the parser below: both editions have 9 to 12 items plus sub-bullets.
    assert len(bullets(pack_id)) >= 12


@pytest.mark.parametrize(
    ("pack_id", "bullet"),
    [(pack_id, bullet) for pack_id in sorted(EDITIONS) for bullet in bullets(pack_id)],
)
def test_every_bullet_is_quoted_by_a_rule(pack_id: str, bullet: str) -> None:
    lead = first_sentence(bullet)
    quoting = [r.id for r in PACKS[pack_id].rules if lead in normalize(r.source)]
    assert quoting, f"no rule of {pack_id} quotes: {lead}"


@pytest.mark.parametrize(
    ("pack_id", "rule_id"),
    [(pack.id, r.id) for pack in PACKS.values() for r in pack.rules],
)
def test_every_source_quotes_its_edition_verbatim(pack_id: str, rule_id: str) -> None:
    text = checklist_text(pack_id)
    for part in rule(rule_id).source.split(QUOTE_SEPARATOR):
        assert normalize(part) in text, f"{rule_id}: not in the checklist: {part}"


def test_rule_ids_follow_the_pack_prefix() -> None:
    assert all(r.id.startswith("CTM18-") for r in PACKS["ctm-hipaa-2018"].rules)
    assert all(r.id.startswith("CTM-") for r in PACKS["ctm-hipaa-current"].rules)


# SPEC section 7, enforcement table: M mandatory, A advisory, None: not in that pack.
ENFORCEMENT = {
    "PLAN-01": ("mandatory", "mandatory"),
    "BAA-01": ("mandatory", "mandatory"),
    "NUM-01": (None, "mandatory"),
    "LOGIN-01": ("mandatory", "mandatory"),
    "LOGIN-02": ("advisory", "advisory"),
    "SEC-01": ("mandatory", "mandatory"),
    "SEC-02": ("mandatory", "mandatory"),
    "SEC-03": ("mandatory", "mandatory"),
    "ENC-01": ("mandatory", "mandatory"),
    "ENC-02": ("mandatory", "mandatory"),
    "TRN-01": ("mandatory", "mandatory"),
    "RED-01": ("advisory", "advisory"),
    "PHI-01": ("advisory", "advisory"),
    "PHI-02": ("advisory", "advisory"),
    "CID-01": ("advisory", "advisory"),
    "CID-02": (None, "advisory"),
    "INT-01": (None, "advisory"),
    "SCOPE-01": ("mandatory", "mandatory"),
    "SEC-04": ("mandatory", "mandatory"),
    "WHK-01": ("mandatory", "mandatory"),
    "WHK-02": (None, "advisory"),
}


@pytest.mark.parametrize("suffix", sorted(ENFORCEMENT))
def test_enforcement_follows_the_spec_table(suffix: str) -> None:
    for pack_id, prefix, expected in zip(
        ("ctm-hipaa-2018", "ctm-hipaa-current"),
        ("CTM18-", "CTM-"),
        ENFORCEMENT[suffix],
        strict=True,
    ):
        found = [r.enforcement for r in PACKS[pack_id].rules if r.id == prefix + suffix]
        assert found == ([] if expected is None else [expected])


def test_every_rule_is_in_the_spec_table() -> None:
    suffixes = {r.id.split("-", 1)[1] for pack in PACKS.values() for r in pack.rules}
    assert suffixes == set(ENFORCEMENT)


def test_phi_rules_are_advisory_high() -> None:
    for rule_id in ("CTM18-PHI-01", "CTM18-PHI-02", "CTM-PHI-01", "CTM-PHI-02", "CTM-WHK-02"):
        assert rule(rule_id).severity == "high"


BUSINESS_ASSOCIATE = (
    "45 CFR 164.308(b)(1)",
    "45 CFR 164.314(a)",
    "45 CFR 164.502(e)",
    "45 CFR 164.504(e)",
    "45 CFR 164.308(b)(2)",
    "45 CFR 164.502(e)(1)(ii)",
)
MINIMUM_NECESSARY = ("45 CFR 164.502(b)", "45 CFR 164.514(d)")
DISCLOSURE = ("45 CFR 164.502(e)", "45 CFR 164.504(e)", "45 CFR 164.502(b)")
# SPEC section 7, "Citations"; scope is not listed there: it is the inventory a risk
# analysis starts from.
CITATIONS = {
    "PLAN-01": BUSINESS_ASSOCIATE,
    "BAA-01": BUSINESS_ASSOCIATE,
    "NUM-01": BUSINESS_ASSOCIATE,
    "LOGIN-01": ("45 CFR 164.312(a)(2)(i)",),
    "LOGIN-02": ("45 CFR 164.312(a)(2)(i)",),
    "SEC-01": ("45 CFR 164.312(a)(2)(iii)",),
    "SEC-02": ("45 CFR 164.312(d)",),
    "SEC-03": ("45 CFR 164.312(a)(1)", "45 CFR 164.312(d)"),
    "ENC-01": ("45 CFR 164.312(a)(2)(iv)", "45 CFR 164.312(e)(2)(ii)"),
    "ENC-02": ("45 CFR 164.312(a)(2)(iv)",),
    "CTM18-TRN-01": DISCLOSURE,  # enhanced transcription
    "CTM-TRN-01": MINIMUM_NECESSARY,  # secure transcription
    "RED-01": MINIMUM_NECESSARY,
    "CID-01": MINIMUM_NECESSARY,
    "CID-02": DISCLOSURE,
    "INT-01": DISCLOSURE,
    "PHI-01": ("45 CFR 164.312(e)(1)", *MINIMUM_NECESSARY),
    "PHI-02": ("45 CFR 164.312(e)(1)", *MINIMUM_NECESSARY),
    "SCOPE-01": ("45 CFR 164.308(a)(1)(ii)(A)",),
    "SEC-04": ("45 CFR 164.312(a)(1)", "45 CFR 164.312(d)"),
    "WHK-01": ("45 CFR 164.312(e)(1)",),
    "WHK-02": DISCLOSURE,
}
ADDRESSABLE = {"SEC-01", "ENC-01", "ENC-02"}


@pytest.mark.parametrize("rule_id", sorted(r.id for p in PACKS.values() for r in p.rules))
def test_citations_and_hipaa_type(rule_id: str) -> None:
    suffix = rule_id.split("-", 1)[1]
    expected = CITATIONS.get(rule_id, CITATIONS.get(suffix))
    assert rule(rule_id).hipaa == expected
    assert rule(rule_id).hipaa_type == ("addressable" if suffix in ADDRESSABLE else "required")


def test_spec_example_rule() -> None:
    example = rule("CTM-SEC-01")
    assert example.title == "Idle users are logged out after at most 15 minutes"
    assert example.hipaa == ("45 CFR 164.312(a)(2)(iii)",)
    assert (example.severity, example.enforcement) == ("high", "mandatory")
    assert (example.resource, example.when) == ("agency.security", ())
    assert (example.check.field, example.check.op, example.check.value) == (
        "idle_timeout_minutes",
        "<=",
        15,
    )
    assert example.remediation == (
        "Agency Settings > Security: log out idle users after 15 minutes or less."
    )


def test_pack_headers() -> None:
    current, old = PACKS["ctm-hipaa-current"], PACKS["ctm-hipaa-2018"]
    assert current.eligible_plans == (
        "growth",
        "connect",
        "advanced",
        "marketing_pro",
        "sales_engage",
        "enterprise",
    )
    assert old.eligible_plans == ("contact_center", "marketing", "advanced", "enterprise")
    for pack in (current, old):
        assert pack.version == "2026.11.2"
        assert pack.login_protected_fields == ("recording_url",)
        assert pack.attestation_max_age_days == 365
        assert len(pack.phi_fields) == 14
        assert "front.desk" in pack.shared_mailbox_local_parts
