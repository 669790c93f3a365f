"""The check report as Markdown for a pull-request comment."""

from __future__ import annotations

import re

from hipaactl.report.check import ALL_PASSED, DISCLAIMER
from hipaactl.report.render.markdown import code, render_markdown, text

from .builders import CURRENT, clean_report, mixed_report


def test_heading_and_summary_table() -> None:
    lines = render_markdown(mixed_report()).splitlines()
    assert lines[0].startswith("## ❌ hipaactl check: 1 check could not be evaluated")
    table = lines.index("| pass | fail | error | manual | not_applicable | waived |")
    assert lines[table + 2] == "| 15 | 4 | 1 | 1 | 0 | 1 |"


def test_packs_and_config_digest_are_named() -> None:
    markdown = render_markdown(mixed_report())
    pack = CURRENT[0]
    assert f"`{pack.id}` {pack.version} (sha256 `{pack.sha256}`)" in markdown
    assert "`clinic/hipaa.toml` (sha256 `" + "c" * 64 + "`)" in markdown


def test_failing_rules_carry_citations_and_remediation() -> None:
    markdown = render_markdown(mixed_report())
    section = markdown[markdown.index("#### CTM-SEC-01") :]
    section = section[: section.index("####", 5)]
    assert "mandatory · high · 45 CFR 164.312(a)(2)(iii) (addressable)" in section
    assert "| `agency.security` | idle_timeout_minutes is 60 (must be &lt;= 15) |" in section
    assert "**Remediation:** Agency Settings &gt; Security" in section


def test_passing_checks_are_folded_away() -> None:
    markdown = render_markdown(mixed_report())
    details = markdown[markdown.index("<details>") : markdown.index("</details>")]
    assert "<summary>Passed: 15 check(s) of 15 rule(s)</summary>" in details
    assert "| CTM-SEC-02 | 1 | Two-factor" in details
    assert "CTM-SEC-01" not in details


def test_live_values_cannot_break_tables_or_inject_html() -> None:
    markdown = render_markdown(mixed_report())
    row = next(line for line in markdown.splitlines() if "notification[" in line)
    assert (
        row == '| `account[1001].notification["N\\|<b>x</b>"]` | fields include PHI: caller_name |'
    )
    # Unescaped pipes split cells: a table row keeps exactly its three separators.
    assert len(re.findall(r"(?<!\\)\|", row)) == 3
    assert text("a|b <i>") == "a\\|b &lt;i&gt;"
    assert code("x`y") == "`` x`y ``"


def test_clean_report_and_disclaimer() -> None:
    markdown = render_markdown(clean_report())
    assert markdown.startswith(f"## ✅ hipaactl check: {ALL_PASSED}\n")
    assert "### Failed" not in markdown
    assert markdown.rstrip().endswith(f"_{text(DISCLAIMER)}_")
