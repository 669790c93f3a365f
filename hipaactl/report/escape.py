"""One escaping function per output format (SPEC section 9).

Text from servers (names, ids, reasons) and from config files (rule titles, reasons,
remediation) reaches Slack messages, Markdown comments, HTML pages and XML reports. Each
format has exactly one function here, and every renderer of that format uses it for
every value it did not write itself:

- ``slack_text``: Slack's mrkdwn control characters ``&``, ``<``, ``>`` (so ``<!channel>``,
  ``<@U123>`` and ``<url|label>`` cannot be injected), per Slack's "Escaping text" docs;
- ``markdown_text`` / ``markdown_code``: GitHub-flavoured Markdown text and code spans
  (HTML, table pipes, emphasis, links, and ``@`` mentions);
- ``html_text``: HTML text and attribute values: MarkupSafe's escape, the one Jinja2's
  autoescaping applies to every value of the HTML report;
- ``xml_text``: XML 1.0 character data for ElementTree, which escapes ``&<>"`` itself but
  writes characters XML 1.0 forbids (most control characters) as they are.
"""

from __future__ import annotations

import html
import re

# A word joiner after "@" keeps GitHub from turning "@team" into a mention (its mention
# filter runs on the rendered text, where a backslash escape is already gone).
_WORD_JOINER = "\u2060"
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]~])")
# "_" emphasises only at a word boundary; snake_case field names stay readable.
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def slack_text(value: str) -> str:
    """Text safe in a Slack message: ``&``, ``<`` and ``>`` as entities (Slack's own
    rule: "you shouldn't HTML-escape anything else")."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_text(value: str) -> str:
    """Plain text safe in a Markdown paragraph or table cell: whitespace folded to one
    line, HTML escaped, Markdown punctuation backslash-escaped, ``@`` mentions broken."""
    flat = " ".join(value.split())
    escaped = html.escape(flat, quote=False)
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", escaped)
    escaped = _EDGE_UNDERSCORE.sub(r"\\_", escaped)
    return escaped.replace("|", "\\|").replace("@", "@" + _WORD_JOINER)


def markdown_code(value: str) -> str:
    """Inline code, fenced with more backticks than the value holds. A pipe is escaped
    even here: GitHub splits table cells before it parses code spans. Nothing else is
    interpreted inside a code span (no HTML, no mentions)."""
    flat = " ".join(value.split()).replace("|", "\\|")
    if "`" not in flat:
        return f"`{flat}`"
    fence = "`" * (max(len(run) for run in re.findall(r"`+", flat)) + 1)
    return f"{fence} {flat} {fence}"


def html_text(value: str) -> str:
    """Text safe in HTML content and in quoted attribute values (``&<>"'`` as
    entities). The HTML report's template escapes with this same function: Jinja2's
    autoescaping calls MarkupSafe's ``escape``."""
    from markupsafe import escape

    return str(escape(value))


def xml_text(value: str) -> str:
    """Text ElementTree can write as well-formed XML 1.0: characters XML forbids
    (control characters, lone surrogates) become U+FFFD. Entities are ElementTree's job."""
    return _XML_ILLEGAL.sub("\ufffd", value)
