"""docs/traceability.md is generated from the packs and the published checklists, and
every checklist bullet traces to at least one rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hipaactl.policy.traceability import REGENERATE, render_traceability, trace_bullets

from .test_checklists import EDITIONS, PACKS, bullets

DOC = Path(__file__).resolve().parents[2] / "docs" / "traceability.md"
ORDER = ("ctm-hipaa-current", "ctm-hipaa-2018")  # the current edition first


def generated() -> str:
    return render_traceability(
        [PACKS[pack_id] for pack_id in ORDER], {pack_id: bullets(pack_id) for pack_id in EDITIONS}
    )


def test_the_document_is_current() -> None:
    if os.environ.get("HIPAACTL_REGENERATE_DOCS"):
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(generated(), encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == generated(), (
        f"docs/traceability.md is out of date; regenerate it with: {REGENERATE}"
    )


@pytest.mark.parametrize("pack_id", ORDER)
def test_every_bullet_traces_to_a_rule(pack_id: str) -> None:
    traces = trace_bullets(PACKS[pack_id], bullets(pack_id))
    assert len(traces) == len(bullets(pack_id))
    assert [t.bullet for t in traces if not t.rules] == []


@pytest.mark.parametrize("pack_id", ORDER)
def test_every_rule_appears_in_the_document(pack_id: str) -> None:
    text = generated()
    for rule in PACKS[pack_id].rules:
        assert f"| {rule.id} |" in text


def test_a_bullet_no_rule_quotes_is_shown_as_untraced() -> None:
    pack = PACKS["ctm-hipaa-current"]
    (trace,) = trace_bullets(pack, ["Record every call on paper. Then shred it."])
    assert trace.rules == ()
    text = render_traceability([pack], {pack.id: ["Record every call on paper."]})
    assert "| 1 | Record every call on paper. | **none** |" in text


def test_sub_bullets_trace_to_the_rule_of_their_setting() -> None:
    pack = PACKS["ctm-hipaa-2018"]
    idle = next(b for b in bullets(pack.id) if b.startswith("Logout users automatically"))
    (trace,) = trace_bullets(pack, [idle])
    assert [r.id for r in trace.rules] == ["CTM18-SEC-01"]
