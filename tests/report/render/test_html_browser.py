"""The HTML report in a real browser: headless Chromium (the system package) renders it,
its DOM holds every managed account and rule, and its screenshot is not blank and shows
the legend. Skipped, with the reason, where Chromium is not installed; ``.ci/run``
installs it with apt-get when it can. Nothing is downloaded at run time.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from hipaactl.report.render import html
from hipaactl.report.render.html import legend, render_html
from tests.browser import decode_png, find_chromium, hex_colour, run_chromium

from .builders import mixed_report
from .test_html import _history, _large_report, flat, parse

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install -y chromium; .ci/run does this)",
)
WINDOW = "--window-size=1100,900"
# A legend swatch is about 44 x 18 pixels; anti-aliased text never fills that many.
SWATCH_PIXELS = 300
UNFOLD_RULE = "details::details-content{content-visibility:visible;display:block}"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(mixed_report(), _history()), encoding="utf-8")
    return path


def test_the_rendered_dom_holds_every_managed_account_and_rule(page: Path) -> None:
    assert CHROMIUM is not None
    report = mixed_report()
    dom = parse(run_chromium(CHROMIUM, page, "--dump-dom"))
    heat = dom.by_id("heatmap")
    rows = [flat(th.text()) for th in heat.find_all("th", scope="row")]
    for managed in report.scope.managed:
        assert any(row.startswith(f"{managed.id} ") for row in rows), rows
    columns = {flat(th.text()) for th in heat.find_all("th", scope="col")}
    assert {r.rule.id for r in report.results} <= columns
    legend_text = flat(dom.by_id("legend").text())
    for style in legend(report):
        assert f"{style.short} {style.label}" in legend_text
    assert dom.by_id("trend").find_all("polyline")


def test_the_screenshot_is_not_blank_and_shows_the_legend(page: Path, tmp_path: Path) -> None:
    """Chromium applies the stylesheet only if the CSP hash matches: the status colours
    in the picture prove the page was styled, not just parsed."""
    assert CHROMIUM is not None
    shot = tmp_path / "shot.png"
    run_chromium(CHROMIUM, page, f"--screenshot={shot}", WINDOW)
    image = decode_png(shot.read_bytes())
    assert (image.width, image.height) == (1100, 900)
    pixels: Counter[tuple[int, int, int]] = Counter()
    for row in image.rows:
        step = image.channels
        pixels.update(zip(row[0::step], row[1::step], row[2::step], strict=True))
    white = pixels[(255, 255, 255)]
    assert white < 0.95 * image.width * image.height, "the page is (nearly) blank"
    for style in legend(mixed_report()):
        colour = hex_colour(style.background)
        assert pixels[colour] >= SWATCH_PIXELS, f"no {style.name} swatch in the screenshot"


def pdf_pages(pdf: bytes) -> int:
    """Page objects of a PDF as Chromium (Skia) writes it: uncompressed dictionaries."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def printed_pages(folder: Path, name: str) -> int:
    assert CHROMIUM is not None
    path = folder / f"{name}.html"
    path.write_text(html.render_html(_large_report()), encoding="utf-8")
    pdf = folder / f"{name}.pdf"
    run_chromium(CHROMIUM, path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    return pdf_pages(pdf.read_bytes())


def test_printing_unfolds_what_the_screen_folds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Save as PDF" gives the whole document: the folded findings and users of a large
    report print open, so the PDF has more pages than with the folds left shut."""
    unfolded = printed_pages(tmp_path, "unfolded")
    sheet = html.stylesheet()
    shut = sheet.replace(UNFOLD_RULE, "")
    assert shut != sheet
    monkeypatch.setattr(html, "stylesheet", lambda: shut)
    folded = printed_pages(tmp_path, "folded")
    assert 0 < folded < unfolded, (folded, unfolded)
