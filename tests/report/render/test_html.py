"""The check report as one self-contained HTML page (SPEC section 13): what it shows, that
it loads nothing, its CSP, escaping, folding when large, and the trend chart.

The page is parsed with the standard library's HTML parser, so assertions are about
elements and their text, not about bytes that happen to be in the source.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hipaactl.config.model import AccountSelector
from hipaactl.live.scope import ExcludedAccount
from hipaactl.report.check import BUCKETS, DISCLAIMER, Report, attestation_results, bucket
from hipaactl.report.escape import html_text
from hipaactl.report.history import HistoryPoint
from hipaactl.report.render import html
from hipaactl.report.render.html import (
    FOLD_RESULTS_AFTER,
    FOLD_USERS_AFTER,
    STATUS_STYLES,
    attention_rank,
    citation,
    heat_map,
    legend,
    render_html,
    style_of,
)
from tests.policy.builders import account, config, info, live, security, settings, user

from .builders import CURRENT, NOON, ODD_ID, clean_report, mixed_report, report_of

# Statuses the report model has or is getting (SPEC section 7): each has its own look.
SPEC_STATUSES = ("pass", "fail", "error", "manual", "not_applicable", "waived", "attested")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        """The text inside, with a space around each cell, item or paragraph."""
        return "".join(_text_of(c) for c in self.children)

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.walk()
            if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id: str) -> Element:
        (found,) = [e for e in self.walk() if e.attrs.get("id") == element_id]
        return found


BLOCKS = {"td", "th", "tr", "li", "p", "dt", "dd", "summary", "h1", "h2", "h3", "h4"}


def _text_of(child: Element | str) -> str:
    if isinstance(child, str):
        return child
    return f" {child.text()} " if child.tag in BLOCKS else child.text()


VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base"}
# Elements whose end tag HTML lets a page leave out, closed when a sibling starts.
IMPLIED_END = {"td": {"td", "th", "tr"}, "th": {"td", "th", "tr"}, "tr": {"tr"}}


class TreeBuilder(HTMLParser):
    """A small DOM: enough to find elements by tag, attribute and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        closes = IMPLIED_END.get(self.stack[-1].tag, set())
        while self.stack[-1].tag in IMPLIED_END and tag in closes:
            self.stack.pop()
            closes = IMPLIED_END.get(self.stack[-1].tag, set())
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self.stack[-1].tag != tag:
            self.stack.pop()
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Element:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.root


def flat(text: str) -> str:
    return " ".join(text.split())


# -- what the page shows -----------------------------------------------------------------


def test_summary_has_conclusion_counts_disclaimer_packs_and_config_digest() -> None:
    report = mixed_report()
    dom = parse(render_html(report))
    summary = flat(dom.by_id("summary").text())
    assert report.conclusion in summary and DISCLAIMER in summary
    assert "c" * 64 in summary and "2026-06-01T12:00:00+00:00" in summary
    counts = dom.by_id("summary").find_all("td")
    assert [int(c.text()) for c in counts] == [report.summary()[s.name] for s in legend(report)]
    packs = flat(dom.by_id("packs").text())
    for pack in CURRENT:
        assert pack.id in packs and pack.version in packs and pack.sha256 in packs
    assert flat(dom.find_all("footer")[0].text()) == DISCLAIMER


def test_heat_map_has_every_managed_account_and_every_rule() -> None:
    report = mixed_report()
    heat = parse(render_html(report)).by_id("heatmap")
    rows = [flat(th.text()) for th in heat.find_all("th", scope="row")]
    columns = [flat(th.text()) for th in heat.find_all("th", scope="col")][1:]
    assert rows[0] == "agency agency-wide"
    for managed in report.scope.managed:
        assert any(row.startswith(f"{managed.id} ") for row in rows)
    assert columns == sorted({r.rule.id for r in report.results})


def test_every_cell_says_its_status_in_text_not_colour_alone() -> None:
    report = mixed_report()
    heat = parse(render_html(report)).by_id("heatmap")
    shorts = {style.short: name for name, style in STATUS_STYLES.items()}
    cells = [td for td in heat.find_all("td") if td.attrs.get("class")]
    assert cells
    for td in cells:
        name = td.attrs["class"].removeprefix("s-")
        assert shorts[td.text().strip()] == name
    # The agency row's idle-timeout cell is the mandatory failure.
    column = sorted({r.rule.id for r in report.results}).index("CTM-SEC-01")
    agency = heat.by_id("account-agency").find_all("td")
    assert agency[column].text().strip() == "FAIL"


def test_a_cell_shows_what_needs_most_attention_and_names_the_mix() -> None:
    mixed = heat_map(mixed_report())
    for row in mixed.rows:
        for rule, cell in zip(mixed.rules, row.cells, strict=True):
            results = [
                r for r in mixed_report().results if r.rule.id == rule.id and _row(r) == row.key
            ]
            if not results:
                assert cell.css == "" and cell.text == ""
                continue
            worst = min((bucket(r) for r in results), key=attention_rank)
            assert cell.css == f"s-{worst}"
            assert (cell.title is None) == (len({bucket(r) for r in results}) == 1)
    assert [attention_rank(s) for s in ("error", "fail", "manual", "waived", "pass")] == sorted(
        attention_rank(s) for s in ("error", "fail", "manual", "waived", "pass")
    )


def _row(result: Any) -> str:
    found = re.match(r"account\[(\d+)\]", result.address)
    return found.group(1) if found else "agency"


def test_legend_names_every_status_of_the_report_model_with_its_label() -> None:
    report = mixed_report()
    items = parse(render_html(report)).by_id("legend").find_all("li")
    texts = [flat(li.text()) for li in items]
    assert len(texts) == len(legend(report)) >= len(BUCKETS)
    for name, text in zip(BUCKETS, texts, strict=False):
        style = STATUS_STYLES[name]
        assert text.startswith(f"{style.short} {style.label}: ")


def test_every_status_of_the_spec_has_its_own_look() -> None:
    assert set(BUCKETS) <= set(STATUS_STYLES)
    assert set(SPEC_STATUSES) <= set(STATUS_STYLES)
    looks = [(s.short, s.background) for s in STATUS_STYLES.values()]
    assert len(set(looks)) == len(looks)
    assert len({s.dash for s in STATUS_STYLES.values()}) == len(STATUS_STYLES)


def test_a_status_the_renderer_does_not_know_still_shows_under_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A status added to the report model before this table learns it: labelled with
    its own name, in the neutral style, never dropped."""
    known = {k: v for k, v in STATUS_STYLES.items() if k != "manual"}
    monkeypatch.setattr(html, "STATUS_STYLES", known)
    dom = parse(render_html(mixed_report()))
    assert "manu manual" in [flat(li.text()) for li in dom.by_id("legend").find_all("li")]
    cells = [td for td in dom.by_id("heatmap").find_all("td") if td.text().strip() == "manu"]
    assert cells and all(td.attrs["class"] == "s-other" for td in cells)


def test_each_failure_carries_citation_checklist_source_and_remediation() -> None:
    report = mixed_report()
    dom = parse(render_html(report))
    for result in report.results:
        if result.status == "pass":
            continue
        article = flat(dom.by_id(f"rule-{result.rule.id}").text())
        assert result.address in article and flat(result.message) in article
        assert citation(result.rule) in article
        assert flat(result.rule.source) in article and flat(result.rule.remediation) in article
    waived = flat(dom.by_id("rule-CTM-RED-01").text())
    assert "approved by privacy-officer@clinic.example" in waived


def test_attested_facts_show_in_the_heat_map_and_with_their_evidence() -> None:
    from tests.report.test_attested import UNEXPOSED, fact, with_facts

    report = report_of(with_facts(fact()), UNEXPOSED)  # type: ignore[arg-type]
    dom = parse(render_html(report))
    column = sorted({r.rule.id for r in report.results}).index("CTM-NUM-01")
    cell = dom.by_id("account-1001").find_all("td")[column]
    assert (cell.attrs["class"], cell.text().strip()) == ("s-attested", "att")
    section = flat(dom.by_id("section-attested").text())
    assert section.startswith("att Attested by a person")
    evidence = flat(dom.by_id("rule-CTM-NUM-01").text())
    assert "attested by compliance@clinic.example on 2026-05-01" in evidence
    legend_items = [flat(li.text()) for li in dom.by_id("legend").find_all("li")]
    assert any(item.startswith("att attested: ") for item in legend_items)


def test_attestations_are_listed_with_their_evidence_whatever_their_status() -> None:
    report = mixed_report()
    findings = parse(render_html(report)).by_id("findings")
    heading = [h.attrs.get("id") for h in findings.find_all("h3")]
    assert "section-attestations" in heading
    text = flat(findings.text())
    for result in attestation_results(report):
        assert f"{result.rule.id} {style_of(result.status).short} {result.address}" in text
        assert flat(result.message) in text


def test_not_applicable_rules_are_listed_apart_never_as_findings_or_passes() -> None:
    report = mixed_report()
    ids = [r.rule.id for r in report.results]
    passed = next(r for r in report.results if r.status == "pass" and ids.count(r.rule.id) == 1)
    rule_id = passed.rule.id
    na = dataclasses.replace(passed, status="not_applicable")
    results = tuple(na if r is passed else r for r in report.results)
    dom = parse(render_html(dataclasses.replace(report, results=results)))
    row = flat(dom.by_id(f"rule-{rule_id}-not_applicable").text())
    assert row.startswith(f"{rule_id} 1 ")
    assert not [e for e in dom.walk() if e.attrs.get("id") == f"rule-{rule_id}-pass"]
    assert "n/a Not applicable" in flat(dom.by_id("section-not_applicable").text())


def test_required_or_addressable_only_next_to_security_rule_citations() -> None:
    rules = {r.rule.id: r.rule for r in mixed_report().results}
    assert citation(rules["CTM-SEC-01"]).endswith("(addressable)")
    privacy = dataclasses.replace(rules["CTM-SEC-01"], hipaa=("45 CFR 164.502(b)",))
    assert citation(privacy) == "45 CFR 164.502(b)"


def test_scope_and_users_inventory() -> None:
    report = mixed_report()
    dom = parse(render_html(report))
    scope = flat(dom.by_id("scope").text())
    assert "1 managed, 0 excluded, 1 unclassified" in scope
    assert "2000 Unknown clinic unclassified neither managed nor excluded" in scope
    users = flat(dom.by_id("users").text())
    for u in report.users:
        assert f"{u.account} {u.email} {u.role} {u.status}" in users


def test_a_clean_report_says_all_mandatory_checks_passed_never_compliant() -> None:
    page = render_html(clean_report())
    dom = parse(page)
    assert "all mandatory checks passed" in flat(dom.by_id("summary").text())
    assert "No rule failed" in flat(dom.by_id("findings").text())
    assert "compliant" not in flat(dom.text()).lower().replace("non-compliant", "")


# -- self-contained: nothing loads, nothing runs ----------------------------------------

_REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


def test_no_remote_loads_no_script_no_external_resource() -> None:
    dom = parse(render_html(mixed_report(), _history()))
    tags = {e.tag for e in dom.walk()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base", "audio"}
    for element in dom.walk():
        for name, value in element.attrs.items():
            if name in ("src", "href", "action", "data", "poster", "srcset", "xlink:href"):
                assert not _REMOTE.match(value), (element.tag, name, value)
                assert not value.lower().startswith(("data:", "javascript:")), value
            assert not name.startswith("on"), (element.tag, name)
    styles = [s.text() for s in dom.find_all("style")]
    assert len(styles) == 1
    assert "@import" not in styles[0] and "url(" not in styles[0]
    assert not [e for e in dom.walk() if "style" in e.attrs]
    links = [e.attrs["href"] for e in dom.find_all("a")]
    assert links and all(href.startswith("#") for href in links)


def test_content_security_policy_allows_only_the_inline_stylesheet_by_hash() -> None:
    dom = parse(render_html(mixed_report()))
    (head,) = dom.find_all("head")
    metas = [e for e in head.children if isinstance(e, Element)]
    csp = next(m for m in metas if m.attrs.get("http-equiv") == "Content-Security-Policy")
    style = head.find_all("style")[0]
    # The policy is in force before the style element is parsed.
    assert metas.index(csp) < metas.index(style)
    directives = dict(d.strip().split(" ", 1) for d in csp.attrs["content"].split(";"))
    digest = base64.b64encode(hashlib.sha256(style.text().encode()).digest()).decode()
    assert directives == {
        "default-src": "'none'",
        "style-src": f"'sha256-{digest}'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }


def test_live_values_are_escaped() -> None:
    page = render_html(mixed_report())
    assert "<b>x</b>" not in page
    # The template's autoescaping is the project's one HTML escaping function.
    assert html_text(f'account[1001].notification["{ODD_ID}"]') in page
    dom = parse(page)
    assert not dom.find_all("b")
    assert f'account[1001].notification["{ODD_ID}"]' in flat(dom.text())


@hypothesis_settings(max_examples=40, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_any_text_from_ctm_or_the_config_comes_back_as_text(value: str) -> None:
    report = mixed_report()
    reason = f"x{value}x"  # a margin so that stripped whitespace shows
    excluded = (ExcludedAccount(info(1500, name=value), reason),)
    scope = dataclasses.replace(report.scope, excluded=excluded)
    dom = parse(render_html(dataclasses.replace(report, scope=scope)))
    rows = [e for e in dom.by_id("scope").find_all("tr") if e.find_all("td")]
    cells = [td.text() for td in rows[0].find_all("td")]
    assert cells == ["1500", value, "excluded", reason]


# -- large reports fold by account -------------------------------------------------------

MANY = FOLD_USERS_AFTER + 10


def _large_report() -> Report:
    accounts = [
        account(
            2000 + n,
            settings=settings(redaction_schedule="off"),
            users=(user(f"u{n}@clinic.example"),),
        )
        for n in range(MANY)
    ]
    world = config(selector=AccountSelector(include=("*",)))
    return report_of(world, live(*accounts, agency_security=security()))


def test_large_reports_fold_findings_and_users_by_account() -> None:
    report = _large_report()
    dom = parse(render_html(report))
    redaction = dom.by_id("rule-CTM-RED-01")
    (details,) = redaction.find_all("details")
    assert flat(details.find_all("summary")[0].text()) == (
        f"{MANY} resources in {MANY} account(s), by account"
    )
    groups = details.find_all("th", scope="rowgroup")
    assert [flat(g.text()) for g in groups][:2] == [
        "account 2000 Clinic 2000",
        "account 2001 Clinic 2001",
    ]
    users = dom.by_id("users").find_all("details")
    assert len(users) == 1 and len(users[0].find_all("th", scope="rowgroup")) == MANY
    assert MANY > FOLD_RESULTS_AFTER


def test_small_reports_list_findings_flat() -> None:
    dom = parse(render_html(mixed_report()))
    assert not dom.by_id("findings").find_all("details")
    assert not dom.by_id("users").find_all("details")


def test_print_css_unfolds_details_and_keeps_colours() -> None:
    style = parse(render_html(mixed_report())).find_all("style")[0].text()
    media = style[style.index("@media print") :]
    assert "details::details-content{content-visibility:visible" in media
    assert "print-color-adjust:exact" in media


# -- the trend chart ---------------------------------------------------------------------


def _history() -> list[HistoryPoint]:
    base = {"pass": 10, "fail": 6, "error": 1, "manual": 1, "waived": 0}
    return [
        HistoryPoint(NOON - dt.timedelta(days=2), {**base, "fail": 8}, "a.json"),
        HistoryPoint(NOON - dt.timedelta(days=1), base, "b.json"),
        HistoryPoint(NOON, mixed_report().summary(), "this run"),
    ]


def test_trend_draws_one_line_per_status_through_every_report() -> None:
    history = _history()
    dom = parse(render_html(mixed_report(), history))
    trend = dom.by_id("trend")
    (svg,) = trend.find_all("svg")
    series = {g.attrs["data-status"]: g for g in svg.find_all("g")}
    assert list(series) == [b for b in BUCKETS if any(b in p.counts for p in history)]
    for name, group in series.items():
        (line,) = group.find_all("polyline")
        points = [tuple(map(float, p.split(","))) for p in line.attrs["points"].split()]
        assert len(points) == len(history)
        assert [x for x, _ in points] == sorted(x for x, _ in points)
        titles = [flat(c.text()) for c in group.find_all("circle")]
        # Reports from before a status existed count it as 0.
        values = [p.counts.get(name, 0) for p in history]
        assert [int(t.split(": ")[1].split()[0]) for t in titles] == values
        label = flat(group.find_all("text")[-1].text())
        assert label == f"{STATUS_STYLES[name].label} {values[-1]}"
    labels = sorted(float(g.find_all("text")[-1].attrs["y"]) for g in series.values())
    assert all(0 < y <= float(svg.attrs["height"]) for y in labels)
    assert all(b - a >= 12 for a, b in itertools.pairwise(labels)), labels
    fail = [
        tuple(map(float, p.split(",")))
        for p in series["fail"].find_all("polyline")[0].attrs["points"].split()
    ]
    assert fail[0][1] < fail[1][1]  # 8 failures sit higher on the chart than 6
    table = flat(trend.find_all("table")[0].text())
    assert "a.json" in table and "this run" in table


def test_no_history_no_trend_and_a_single_report_says_so() -> None:
    assert 'id="trend"' not in render_html(mixed_report())
    lone = parse(render_html(mixed_report(), _history()[-1:])).by_id("trend")
    assert "a trend needs earlier JSON reports" in flat(lone.text())


def test_rendering_is_byte_stable() -> None:
    assert render_html(mixed_report(), _history()) == render_html(mixed_report(), _history())
