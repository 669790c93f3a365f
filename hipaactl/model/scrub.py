"""The one scrubber: credentials never reach a sink (SPEC section 9).

Every sink — stdout and stderr, plan files and reports, change-log records, alerts,
error messages and ``--debug`` tracebacks — passes its text through ``scrub`` (or its
data through ``scrub_data``) on the full text, before any truncation, folding or
wrapping. The provider registers its keys once loaded (``register_secret``); with
nothing registered, scrubbing is a no-op.

A server can echo a key in many shapes, and may mix them within one key, so each
character of a secret is matched in every form a server, a JSON or URL encoder or an
escaping renderer could give it:

- as itself, in any letter case (a host name in a ``Location`` header is lowercased);
- JSON-escaped: ``\\u00e9`` (any hex case, any number of backslashes, for JSON inside
  JSON) and the short escapes ``\\"``, ``\\\\``, ``\\/``, ``\\n``, ``\\t``...;
- URL-encoded (``quote`` and ``quote_plus``): ``%XX`` of its UTF-8 and of its Latin-1
  bytes, ``+`` for a space;
- HTML/XML entities (``&#233;``, ``&#xe9;``, ``&amp;``...) and a Markdown backslash;
- mangled by a server that decoded Latin-1 bytes as UTF-8 (``\\ufffd`` or ``?``) or
  UTF-8 bytes as Latin-1 (``Ã©``).

The Basic token (base64 of ``access:secret``) is registered in its Latin-1 and UTF-8
forms by the provider. Beyond whole keys, any run of ``FRAGMENT_CHARS`` consecutive
characters of a key, as it is, is masked too, so a server that quotes part of a key
shows no 8 characters of it. Every match becomes ``***``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "***"
FRAGMENT_CHARS = 8

_JSON_SHORT_ESCAPES = {
    '"': '"',
    "\\": "\\\\",
    "/": "/",
    "\b": "b",
    "\f": "f",
    "\n": "n",
    "\r": "r",
    "\t": "t",
}
_HTML_NAMED = {"&": ("amp",), "<": ("lt",), ">": ("gt",), '"': ("quot",), "'": ("apos",)}


def _literal_forms(char: str) -> set[str]:
    """The texts one character of a secret may appear as; plain strings, not patterns."""
    code = ord(char)
    forms = {char, f"&#{code};", f"&#x{code:x};", f"&#x{code:02x};", f"\\{char}"}
    forms.update(f"&{name};" for name in _HTML_NAMED.get(char, ()))
    for encoding in ("utf-8", "latin-1"):
        try:
            data = char.encode(encoding)
        except UnicodeEncodeError:
            continue
        forms.add("".join(f"%{byte:02x}" for byte in data))
    if char == " ":
        forms.add("+")
    if code > 0x7F:
        # surrogateescape: a key from the environment may hold an undecodable byte
        # (os.environ keeps it as a lone surrogate); its form is that byte.
        forms.update({"\ufffd", "?", char.encode("utf-8", "surrogateescape").decode("latin-1")})
    return forms


def _char_pattern(char: str) -> str:
    """A regex matching one character of a secret in any of its forms."""
    code = ord(char)
    alternatives = {re.escape(form) for form in _literal_forms(char)}
    if code <= 0xFFFF:
        # Any number of backslashes: JSON quoted inside JSON doubles them.
        alternatives.add(rf"\\+?u{code:04x}")
    if char in _JSON_SHORT_ESCAPES:
        alternatives.add(r"\\+?" + re.escape(_JSON_SHORT_ESCAPES[char]))
    # Longest first, so a multi-character form wins over a shorter one it starts with.
    ordered = sorted(alternatives, key=lambda a: (-len(a), a))
    return f"(?:{'|'.join(ordered)})"


def _secret_pattern(secret: str) -> str:
    """The whole secret, each character in any of its forms."""
    return "".join(_char_pattern(char) for char in secret)


def _first_chars(secrets: Iterable[str]) -> str:
    """A character class of every character a match can start with. As a lookahead it
    lets most positions of a long text fail at one test (about 10x faster)."""
    chars = {"\\"}
    for secret in secrets:
        for form in _literal_forms(secret[0]):
            chars.update({form[0], form[0].lower(), form[0].upper()})
    return f"[{''.join(re.escape(char) for char in sorted(chars))}]"


def _fragments(secret: str) -> set[str]:
    """Every run of FRAGMENT_CHARS characters of ``secret``, lowercased."""
    lowered = secret.lower()
    return {lowered[i : i + FRAGMENT_CHARS] for i in range(len(lowered) - FRAGMENT_CHARS + 1)}


class Scrubber:
    """Masks registered secrets in text and in JSON-like data; thread-safe.

    ``register`` adds a secret (a key, or the Basic token) and ``clear`` forgets them
    all (each CLI run starts clean). ``fragments=False`` masks only the secret whole,
    in every form, for values such as the Basic token whose parts are not secret
    characters of their own. Fragments are masked as they are (in any letter case),
    whole secrets in every form.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, bool] = {}
        self._whole: re.Pattern[str] | None = None
        self._fragments: frozenset[str] = frozenset()
        self._fragment_pattern: re.Pattern[str] | None = None
        self._stale = False

    def register(self, secret: str, *, fragments: bool = True) -> None:
        """Mask ``secret`` from the next ``scrub`` on; an empty one is ignored."""
        if not secret:
            return
        with self._lock:
            current = self._secrets.get(secret)
            if current is not None and (current or not fragments):
                return
            self._secrets[secret] = fragments
            self._stale = True  # compiled on the next scrub: registering is cheap

    def clear(self) -> None:
        """Forget every registered secret."""
        with self._lock:
            self._secrets.clear()
            self._whole = self._fragment_pattern = None
            self._fragments = frozenset()
            self._stale = False

    @property
    def active(self) -> bool:
        """True when some secret is registered."""
        return bool(self._secrets)

    def scrub(self, text: str) -> str:
        """``text`` with every registered secret, in every form, replaced by ``***``."""
        if self._stale:
            with self._lock:
                if self._stale:
                    self._compile()
                    self._stale = False
        whole, fragment_pattern = self._whole, self._fragment_pattern
        if whole is None or not text:
            return text
        text = whole.sub(MASK, text)
        if fragment_pattern is not None and self._may_hold_fragment(text):
            text = fragment_pattern.sub(MASK, text)
        return text

    def scrub_data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` (dicts, lists, tuples, strings, scalars) with
        every string, keys included, scrubbed; other values are returned as they are."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub_data(k): self.scrub_data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.scrub_data(item) for item in value)
        return value

    def _may_hold_fragment(self, text: str) -> bool:
        """A fast test (substring search in C) before the slow fragment pattern."""
        lowered = text.lower()
        if len(lowered) != len(text):  # a rare letter whose lowercase is longer
            return True
        return any(fragment in lowered for fragment in self._fragments)

    def _compile(self) -> None:
        # Longest secrets first: a key inside the token must not win over the token.
        ordered = sorted(self._secrets, key=lambda secret: (-len(secret), secret))
        whole = "|".join(_secret_pattern(secret) for secret in ordered)
        self._whole = re.compile(f"(?={_first_chars(ordered)})(?:{whole})", re.IGNORECASE)
        fragments = {
            fragment
            for secret, wanted in self._secrets.items()
            if wanted
            for fragment in _fragments(secret)
        }
        self._fragments = frozenset(fragments)
        self._fragment_pattern = (
            re.compile("|".join(re.escape(f) for f in sorted(fragments)), re.IGNORECASE)
            if fragments
            else None
        )


SCRUBBER = Scrubber()


def register_secret(secret: str, *, fragments: bool = True) -> None:
    """Mask ``secret`` at every sink from now on (see ``Scrubber.register``)."""
    SCRUBBER.register(secret, fragments=fragments)


def register_secrets(secrets: Iterable[str], *, fragments: bool = True) -> None:
    """``register_secret`` for each of ``secrets``."""
    for secret in secrets:
        SCRUBBER.register(secret, fragments=fragments)


def scrub(text: str) -> str:
    """``text`` with every registered secret masked; use at every sink."""
    return SCRUBBER.scrub(text)


def scrub_data(value: Any) -> Any:
    """JSON-like ``value`` with every registered secret masked in every string."""
    return SCRUBBER.scrub_data(value)


def forget_secrets() -> None:
    """Forget every registered secret: the start of a CLI run, or the end of a test."""
    SCRUBBER.clear()
