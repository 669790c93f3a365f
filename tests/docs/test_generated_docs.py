"""The generated references in docs/ match the code: the configuration reference the
JSON Schema, the policy reference and the checklist traceability the packs.

Regenerate them all with ``HIPAACTL_REGENERATE_DOCS=1 pytest tests/docs/test_generated_docs.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hipaactl.config.schema import config_json_schema
from hipaactl.policy.model import Condition, Ref, cited
from hipaactl.policy.packs import load_packs
from hipaactl.report.reference import (
    KEY_NOTES,
    REGENERATE,
    render_condition,
    render_configuration_reference,
    render_policy_reference,
    schema_key_paths,
    schema_tables,
)
from tests.policy.test_traceability import ORDER, PACKS
from tests.policy.test_traceability import generated as traceability

DOCS = Path(__file__).resolve().parents[2] / "docs"


def configuration() -> str:
    return render_configuration_reference(config_json_schema())


def policies() -> str:
    extended = load_packs(("ctm-hipaa-extended",), base_dir=Path("."))
    return render_policy_reference([*(PACKS[pack_id] for pack_id in ORDER), *extended])


GENERATED: dict[str, Callable[[], str]] = {
    "configuration.md": configuration,
    "policies.md": policies,
    "traceability.md": traceability,
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_the_generated_document_is_current(name: str) -> None:
    path = DOCS / name
    text = GENERATED[name]()
    if os.environ.get("HIPAACTL_REGENERATE_DOCS"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, (
        f"docs/{name} is out of date; regenerate it with: {REGENERATE}"
    )


def test_every_key_note_names_a_key_of_the_schema() -> None:
    assert sorted(set(KEY_NOTES) - schema_key_paths(config_json_schema())) == []


def test_every_table_and_key_of_the_schema_is_documented() -> None:
    text = configuration()
    for table in schema_tables(config_json_schema()):
        for key in table.keys:
            assert f"| `{key.name}` |" in text
    for heading in ("[provider.endpoints]", "[[account.user]]", "[policy.overrides.RULE_ID]"):
        assert f"## {heading}" in text
    assert "| `idle_timeout_minutes` | integer, 1..1440 |" in text
    assert '| `kind` | provider name |  | `"sandbox"` |' in text


def test_a_model_used_twice_is_documented_once_and_linked() -> None:
    text = configuration()
    assert "## [defaults.recordings]" in text and "## [account.recordings]" not in text
    assert "See [`[defaults.recordings]`](#defaultsrecordings)." in text


def test_every_rule_is_in_the_policy_reference_with_citation_and_remediation() -> None:
    text = policies()
    for pack_id in ORDER:
        for rule in PACKS[pack_id].rules:
            section = text[text.index(f"### {rule.id}: ") :].split("\n#")[0]
            assert f"| enforcement | {rule.enforcement} |" in section
            assert cited(rule).replace("45 CFR ", "") in section
            assert "| remediation | " in section


def test_conditions_read_as_words() -> None:
    quantified = Condition("records", "==", True, quantifier="any", over="call_settings")
    assert render_condition(quantified) == "any `call_settings`: `records` == `true`"
    plans = Condition("plan", "in", Ref("eligible_plans"))
    assert render_condition(plans) == "`plan` in the pack's eligible plans"
