"""The check report as one self-contained HTML page (SPEC section 13). Pure: values in,
a string out.

The page makes no network request: its only CSS is one inline ``<style>`` element allowed
by its SHA-256 in a Content-Security-Policy ``<meta>`` whose default is ``'none'``, its
charts are inline SVG, and it has no script at all, so everything it claims is visible
without JavaScript. Jinja2 renders it with autoescaping on (MarkupSafe's escape, which
is ``escape.html_text``), so no value read from CTM or the config (names, messages,
reasons) can inject markup. Statuses are told apart by a
text label in every cell as well as by colour; a legend explains both. Large reports
fold the findings of a rule and the users inventory by account (``<details>``), and print
CSS unfolds them again, so "Save as PDF" gives the whole document.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from hipaactl import __version__
from hipaactl.policy.model import cited
from hipaactl.report.check import (
    BUCKETS,
    DISCLAIMER,
    SECTION_TITLES,
    InventoryUser,
    Report,
    RuleGroup,
    attestation_results,
    bucket,
    not_applicable_groups,
    passing_groups,
    report_sections,
)
from hipaactl.report.history import HistoryPoint

if TYPE_CHECKING:
    from jinja2 import Environment

    from hipaactl.policy.model import Rule, RuleResult

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
# Above this many results, a rule's findings are folded by account.
FOLD_RESULTS_AFTER = 10
# Above this many users, the inventory is folded by account.
FOLD_USERS_AFTER = 50
# Above this many accounts, the list of managed account ids is folded.
FOLD_SCOPE_AFTER = 50
AGENCY_ROW = "agency"
_ACCOUNT_ID = re.compile(r"account\[(\d+)\]")


@dataclass(frozen=True)
class StatusStyle:
    """How one status (or summary bucket) looks: ``short`` is the text of a heat-map
    cell, ``background``/``foreground`` its colours (CSS hex), ``stroke`` its trend line
    colour and ``dash`` its SVG dash pattern, so lines differ by more than colour."""

    name: str
    short: str
    label: str
    meaning: str
    background: str
    foreground: str
    stroke: str
    dash: str


# Every status and bucket the report model has or is getting (SPEC section 7); a status
# not listed here still renders, with ``OTHER_STYLE`` and its own name as label.
STATUS_STYLES: Mapping[str, StatusStyle] = {
    s.name: s
    for s in (
        StatusStyle("pass", "ok", "pass", "the rule holds", "#c7ecc9", "#0b3d18", "#1a7f37", ""),
        StatusStyle(
            "fail", "FAIL", "fail", "the rule does not hold", "#c4161c", "#ffffff", "#c4161c", "6 3"
        ),
        StatusStyle(
            "error",
            "ERR",
            "error",
            "its data could not be read: never a pass",
            "#5b2a86",
            "#ffffff",
            "#5b2a86",
            "2 3",
        ),
        StatusStyle(
            "manual",
            "ATTEST",
            "manual",
            "only a person can confirm it: waiting for an attestation",
            "#f5c542",
            "#2b2100",
            "#b7860b",
            "9 3 2 3",
        ),
        StatusStyle(
            "waived",
            "wvd",
            "waived",
            "failed, waived by [policy.overrides]: reported, not enforced",
            "#a9b4c2",
            "#1b2430",
            "#56657a",
            "1 3",
        ),
        StatusStyle(
            "not_applicable",
            "n/a",
            "not applicable",
            "the rule's conditions (when) do not hold here",
            "#eef0f2",
            "#4a4f55",
            "#8a9099",
            "4 4",
        ),
        StatusStyle(
            "attested",
            "att",
            "attested",
            "not exposed by the API; a current attestation confirms it",
            "#8fd3df",
            "#0c3440",
            "#1f7f91",
            "10 2",
        ),
    )
}
OTHER_STYLE = StatusStyle("other", "?", "other", "", "#ffffff", "#000000", "#000000", "1 1")
# Which status an account's cell shows when its resources differ: the one that most
# needs attention.
_ATTENTION = ("error", "fail", "manual", "waived", "attested", "pass", "not_applicable")


def style_of(status: str) -> StatusStyle:
    """The style of a status; one the table does not know looks like ``OTHER_STYLE``
    and is labelled with its own name."""
    known = STATUS_STYLES.get(status)
    if known is not None:
        return known
    return dataclasses.replace(
        OTHER_STYLE, name=status, short=status[:4], label=status.replace("_", " ")
    )


def css_class(status: str) -> str:
    """The CSS class that colours a status: ``s-<status>``, or ``s-other`` when unknown."""
    return f"s-{status}" if status in STATUS_STYLES else "s-other"


def attention_rank(status: str) -> int:
    """Lower needs more attention; an unknown status ranks just after ``error``."""
    return _ATTENTION.index(status) if status in _ATTENTION else 0


def citation(rule: Rule) -> str:
    """The rule's citations as every format shows them (``policy.model.cited``):
    required/addressable only next to Security Rule ones."""
    return cited(rule)


# -- the heat map --------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    css: str  # "" for a rule that is not about this row
    text: str
    title: str | None  # the mix of statuses, when the row's resources differ


@dataclass(frozen=True)
class Row:
    key: str  # "agency" or the account id
    label: str
    note: str  # "excluded", "unclassified" or ""
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class HeatMap:
    rules: tuple[Rule, ...]
    rows: tuple[Row, ...]


def row_key(address: str) -> str:
    """The heat-map row of a result: its account id, else the agency row."""
    found = _ACCOUNT_ID.match(address)
    return found.group(1) if found else AGENCY_ROW


def heat_map(report: Report) -> HeatMap:
    """Rows: the agency (agency security, attestations) and every account, managed ones
    first by id; columns: every rule with a result; a cell: the status of the rule over
    the row's resources, the one that needs most attention when they differ."""
    rules: dict[str, Rule] = {}
    statuses: dict[tuple[str, str], list[str]] = {}
    for result in report.results:
        rules.setdefault(result.rule.id, result.rule)
        statuses.setdefault((row_key(result.address), result.rule.id), []).append(bucket(result))
    columns = tuple(rules[rule_id] for rule_id in sorted(rules))
    rows = [
        Row(key, label, note, tuple(_cell(statuses.get((key, r.id), [])) for r in columns))
        for key, label, note in _row_heads(report, {key for key, _ in statuses})
    ]
    return HeatMap(columns, tuple(rows))


def _row_heads(report: Report, keys: set[str]) -> list[tuple[str, str, str]]:
    scope = report.scope
    heads = [(AGENCY_ROW, "agency", "agency-wide")] if AGENCY_ROW in keys else []
    known = {str(info.id): (info.name, "") for info in scope.managed}
    known.update({str(e.info.id): (e.info.name, "excluded") for e in scope.excluded})
    known.update({str(info.id): (info.name, "unclassified") for info in scope.unclassified})
    accounts = (keys - {AGENCY_ROW}) | {str(info.id) for info in scope.managed}
    for key in sorted(accounts, key=lambda k: (known.get(k, ("", ""))[1] != "", int(k))):
        name, note = known.get(key, ("", ""))
        heads.append((key, f"{key} {name}".strip(), note))
    return heads


def _cell(statuses: Sequence[str]) -> Cell:
    if not statuses:
        return Cell("", "", None)
    worst = min(statuses, key=attention_rank)
    title = None
    if len(set(statuses)) > 1:
        counts = {s: statuses.count(s) for s in sorted(set(statuses), key=attention_rank)}
        title = ", ".join(f"{n} {style_of(s).label}" for s, n in counts.items())
    return Cell(css_class(worst), style_of(worst).short, title)


# -- findings, folded by account when many --------------------------------------------


@dataclass(frozen=True)
class Fold:
    label: str  # "account 1001 Downtown Clinic" or "agency"
    results: tuple[RuleResult, ...]


@dataclass(frozen=True)
class Finding:
    rule: Rule
    citation: str
    results: tuple[RuleResult, ...]
    folds: tuple[Fold, ...]  # empty when the results are few enough to list flat
    waiver: str | None


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    style: StatusStyle  # the status every result of the section has
    findings: tuple[Finding, ...]


# The status of the results of each section of ``report_sections``.
_SECTION_STATUS: Mapping[str, str] = {
    "error": "error",
    "mandatory": "fail",
    "manual": "manual",
    "advisory": "fail",
    "waived": "waived",
}


def sections(report: Report) -> tuple[Section, ...]:
    """The findings in the sections of ``report_sections`` (error, mandatory, manual,
    advisory, waived), each rule once with its citation and, for a waiver, its reason."""
    names = _account_names(report)
    return tuple(
        Section(
            name,
            SECTION_TITLES[name],
            style_of(_SECTION_STATUS.get(name, name)),
            tuple(_finding(report, group, names, waived=name == "waived") for group in groups),
        )
        for name, groups in report_sections(report)
    )


def _finding(
    report: Report, group: RuleGroup, names: Mapping[str, str], *, waived: bool
) -> Finding:
    folds: tuple[Fold, ...] = ()
    if len(group.results) > FOLD_RESULTS_AFTER:
        by_row: dict[str, list[RuleResult]] = {}
        for result in group.results:
            by_row.setdefault(row_key(result.address), []).append(result)
        folds = tuple(
            Fold(names.get(key, f"account {key}"), tuple(by_row[key]))
            for key in sorted(by_row, key=lambda k: (k != AGENCY_ROW, int(k) if k.isdigit() else 0))
        )
    return Finding(
        group.rule,
        citation(group.rule),
        group.results,
        folds,
        report.waiver(group.rule.id) if waived else None,
    )


def _account_names(report: Report) -> dict[str, str]:
    scope = report.scope
    infos = [*scope.managed, *(e.info for e in scope.excluded), *scope.unclassified]
    names = {str(info.id): f"account {info.id} {info.name}".strip() for info in infos}
    names[AGENCY_ROW] = "agency"
    return names


# -- users, folded by account when many -----------------------------------------------


@dataclass(frozen=True)
class UserFold:
    label: str
    users: tuple[InventoryUser, ...]


def user_folds(report: Report) -> tuple[UserFold, ...]:
    """The users inventory grouped by account, in account order."""
    names = _account_names(report)
    by_account: dict[int, list[InventoryUser]] = {}
    for user in report.users:
        by_account.setdefault(user.account, []).append(user)
    return tuple(
        UserFold(names.get(str(account), f"account {account}"), tuple(users))
        for account, users in sorted(by_account.items())
    )


# -- the trend chart -------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 760, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 150, 16, 36


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    value: int
    when: str


@dataclass(frozen=True)
class Series:
    style: StatusStyle
    points: str  # SVG polyline points
    marks: tuple[Mark, ...]
    label_y: float


@dataclass(frozen=True)
class Trend:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    series: tuple[Series, ...]
    y_ticks: tuple[tuple[float, int], ...]
    x_labels: tuple[tuple[float, str, str], ...]  # x, text, SVG text-anchor
    statuses: tuple[StatusStyle, ...]
    points: tuple[HistoryPoint, ...]


def trend(points: Sequence[HistoryPoint]) -> Trend:
    """Status counts over evaluation time, x proportional to time, y from 0 to the
    largest count; one series per status that any point counts."""
    statuses = _statuses([name for p in points for name in p.counts])
    left, right = _LEFT, CHART_WIDTH - _RIGHT
    top, bottom = _TOP, CHART_HEIGHT - _BOTTOM
    times = [p.evaluated_at.timestamp() for p in points]
    start, span = (min(times), max(times) - min(times)) if times else (0.0, 0.0)
    peak = max([1, *(v for p in points for v in p.counts.values())])

    def x_of(at: float) -> float:
        return round(left + (right - left) * ((at - start) / span if span else 0.5), 1)

    def y_of(value: int) -> float:
        return round(bottom - (bottom - top) * value / peak, 1)

    series = []
    for style in statuses:
        marks = tuple(
            Mark(x_of(t), y_of(p.counts.get(style.name, 0)), p.counts.get(style.name, 0), _when(p))
            for t, p in zip(times, points, strict=True)
        )
        line = " ".join(f"{m.x},{m.y}" for m in marks)
        series.append(Series(style, line, marks, marks[-1].y if marks else bottom))
    _spread_labels(series, top, bottom)
    ticks = tuple((y_of(v), v) for v in sorted({0, peak // 2, peak}))
    ends = _ends(times, points)
    anchors = ("start", "end") if len(ends) > 1 else ("middle",)
    labels = tuple((x_of(t), _when(p), a) for (t, p), a in zip(ends, anchors, strict=True))
    return Trend(
        CHART_WIDTH, CHART_HEIGHT, left, right, top, bottom, tuple(series), ticks, labels,
        statuses, tuple(points),
    )  # fmt: skip


def _statuses(names: Sequence[str]) -> tuple[StatusStyle, ...]:
    known = [b for b in BUCKETS if b in names]
    extra = sorted({n for n in names if n not in BUCKETS})
    return tuple(style_of(n) for n in [*known, *extra])


def _when(point: HistoryPoint) -> str:
    return point.evaluated_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _ends(
    times: Sequence[float], points: Sequence[HistoryPoint]
) -> list[tuple[float, HistoryPoint]]:
    """The first and the last point: the x axis is labelled at both ends only."""
    pairs = list(zip(times, points, strict=True))
    return pairs[:1] + pairs[-1:] if len(pairs) > 1 else pairs


def _spread_labels(series: list[Series], top: float, bottom: float) -> None:
    """Move the line-end labels apart so equal counts do not print over each other:
    down from the top where they collide, then up from the bottom where that ran out
    of room."""
    gap = 13.0
    order = sorted(range(len(series)), key=lambda i: series[i].label_y)
    wanted = [series[i].label_y for i in order]
    for k in range(len(wanted)):
        wanted[k] = max(wanted[k], top if k == 0 else wanted[k - 1] + gap)
    for k in reversed(range(len(wanted))):
        wanted[k] = min(wanted[k], bottom if k == len(wanted) - 1 else wanted[k + 1] - gap)
    for i, y in zip(order, wanted, strict=True):
        series[i] = dataclasses.replace(series[i], label_y=round(y, 1))


# -- the page --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("hipaactl.report.render", "templates"),
        autoescape=True,  # every value is escaped unless marked safe (only the CSS is)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        css_class=css_class,
        cite=citation,
        status_class=lambda result: css_class(bucket(result)),
        status_short=lambda result: style_of(bucket(result)).short,
        short_of=lambda status: style_of(status).short,
    )
    return environment


def stylesheet() -> str:
    """The page's CSS: the static sheet plus one rule per status colour."""
    static_file = resources.files(__package__).joinpath("templates").joinpath(STYLESHEET)
    static = static_file.read_text("utf-8")
    rules = "".join(
        f".s-{s.name}{{background:{s.background};color:{s.foreground}}}"
        for s in (*STATUS_STYLES.values(), OTHER_STYLE)
    )
    return static + rules + "\n"


def content_security_policy(css: str) -> str:
    """Nothing may load or run; only the one inline style element, by its hash."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"


def legend(report: Report) -> tuple[StatusStyle, ...]:
    """Every summary bucket the report model has, then any other status seen."""
    seen = [bucket(r) for r in report.results]
    return _statuses([*BUCKETS, *seen])


def render_html(report: Report, history: Sequence[HistoryPoint] | None = None) -> str:
    """The whole page. ``history`` (oldest first, this run last) adds the trend chart;
    None leaves it out."""
    from markupsafe import Markup

    css = stylesheet()
    template = _environment().get_template(TEMPLATE)
    return template.render(
        report=report,
        css=Markup(css),  # a file shipped in the package, never data
        csp=content_security_policy(css),
        disclaimer=DISCLAIMER,
        version=__version__,
        summary=report.summary(),
        legend=legend(report),
        heat=heat_map(report),
        sections=sections(report),
        passing=passing_groups(report),
        not_applicable=not_applicable_groups(report),
        attestations=attestation_results(report),
        users=report.users,
        user_folds=user_folds(report) if len(report.users) > FOLD_USERS_AFTER else (),
        fold_scope=len(report.scope.managed) > FOLD_SCOPE_AFTER,
        trend=trend(history) if history is not None else None,
        evaluated_at=report.evaluated_at.isoformat(timespec="seconds"),
    )
