"""Config key paths (``account[#0].user[#1].email``) and the line each key is declared on.

``tomllib`` keeps no positions, so ``scan_key_lines`` walks the text of an already
parsed (hence valid) TOML file with a small scanner: table headers, array-of-tables
headers, ``key = value`` lines, and the keys and elements inside inline tables and
arrays. It only needs to be right for valid TOML.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

KeyPart = str | int  # a table key, or the position of an element in an array
KeyPath = tuple[KeyPart, ...]

# Names that look like credentials; they are refused anywhere in the file (SPEC section 9).
SECRET_KEY_PATTERN = re.compile(r"(?i)(^|_)(key|secret|token|password)s?($|_)")

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = ",]}#\n"


def format_key_path(parts: Sequence[KeyPart]) -> str:
    """``("account", 0, "recordings")`` -> ``account[#0].recordings``: the position in the
    file, never to be confused with the resource address ``account[1001]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[#{part}]"
            continue
        name = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
        text += f".{name}" if text else name
    return text


def parent_key_paths(key: str) -> Iterator[str]:
    """``a[#0].b.c`` -> ``a[#0].b``, ``a[#0]``, ``a``: where to look for a line when the
    key itself is not in the file (a missing key)."""
    while key:
        cut = max(key.rfind("."), key.rfind("[#"))
        if cut <= 0:
            return
        key = key[:cut]
        yield key


def line_of(key: str, key_lines: Mapping[str, int]) -> int | None:
    """The line of ``key``, or of its nearest declared parent."""
    if key in key_lines:
        return key_lines[key]
    return next((key_lines[p] for p in parent_key_paths(key) if p in key_lines), None)


def find_secret_keys(document: Any, prefix: KeyPath = ()) -> Iterator[KeyPath]:
    """Every key, at any depth, whose name looks like a credential."""
    if isinstance(document, dict):
        for name, value in document.items():
            path = (*prefix, name)
            if SECRET_KEY_PATTERN.search(name):
                yield path
            else:
                yield from find_secret_keys(value, path)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from find_secret_keys(value, (*prefix, index))


def scan_key_lines(text: str) -> dict[str, int]:
    """Map every declared key path (and array element) of a valid TOML text to its line."""
    scanner = _Scanner(text)
    # Lines only help locate issues: a scanner slip must never hide the issues themselves.
    with contextlib.suppress(ValueError, IndexError):
        scanner.scan()
    return {format_key_path(path): line for path, line in scanner.lines.items()}


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {}
        self.arrays: dict[KeyPath, int] = {}  # array-of-tables path -> index of its last table

    # -- reading characters --------------------------------------------------------------

    def peek(self, count: int = 1) -> str:
        return self.text[self.pos : self.pos + count]

    def advance(self, count: int = 1) -> str:
        chunk = self.text[self.pos : self.pos + count]
        self.line += chunk.count("\n")
        self.pos += len(chunk)
        return chunk

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_blank(self, *, newlines: bool) -> None:
        """Skip spaces and comments, and line breaks too when ``newlines``."""
        while not self.at_end():
            char = self.peek()
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                while not self.at_end() and self.peek() != "\n":
                    self.advance()
            else:
                return

    # -- structure -----------------------------------------------------------------------

    def record(self, path: KeyPath, line: int) -> None:
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], line)

    def resolve(self, parts: KeyPath) -> KeyPath:
        """A header's dotted name, with the last table of each array of tables on the way."""
        resolved: KeyPath = ()
        for part in parts:
            resolved = (*resolved, part)
            if resolved in self.arrays:
                resolved = (*resolved, self.arrays[resolved])
        return resolved

    def scan(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_blank(newlines=True)
            if self.at_end():
                return
            line = self.line
            if self.peek(2) == "[[":
                self.advance(2)
                parts = self.read_key(end="]")
                self.advance(2)
                array = (*self.resolve(parts[:-1]), parts[-1])
                self.arrays[array] = self.arrays.get(array, -1) + 1
                table = (*array, self.arrays[array])
                self.record(table, line)
            elif self.peek() == "[":
                self.advance()
                table = self.resolve(self.read_key(end="]"))
                self.advance()
                self.record(table, line)
            else:
                self.read_pair(table)

    def read_pair(self, table: KeyPath) -> None:
        line = self.line
        path = (*table, *self.read_key(end="="))
        self.advance()  # "="
        self.record(path, line)
        self.read_value(path)

    def read_key(self, *, end: str) -> KeyPath:
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            char = self.peek()
            if char in "\"'":
                parts.append(self.read_quoted_key())
            else:
                start = self.pos
                while not self.at_end() and _BARE_KEY.fullmatch(self.peek()):
                    self.advance()
                parts.append(self.text[start : self.pos])
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                break
            self.advance()
        if self.peek() != end:  # pragma: no cover - the text already parsed as TOML
            raise ValueError(f"unexpected {self.peek()!r} at line {self.line}")
        return tuple(parts)

    def read_quoted_key(self) -> str:
        start = self.pos
        self.read_string()
        # Let the TOML parser itself decode the escapes of a quoted key.
        decoded = tomllib.loads(f"k = {self.text[start : self.pos]}")["k"]
        return str(decoded)

    # -- values --------------------------------------------------------------------------

    def read_value(self, path: KeyPath) -> None:
        self.skip_blank(newlines=False)
        char = self.peek()
        if char in "\"'":
            self.read_string()
        elif char == "[":
            self.read_array(path)
        elif char == "{":
            self.read_inline_table(path)
        else:
            while not self.at_end() and self.peek() not in _SCALAR_END:
                self.advance()

    def read_string(self) -> None:
        quote = self.peek()
        delimiter = quote * 3 if self.peek(3) == quote * 3 else quote
        self.advance(len(delimiter))
        while not self.at_end() and self.peek(len(delimiter)) != delimiter:
            if quote == '"' and self.peek() == "\\":
                self.advance()
            self.advance()
        self.advance(len(delimiter))
        # A multi-line string may end with up to two more quotes that belong to it.
        while len(delimiter) == 3 and self.peek() == quote:
            self.advance()

    def read_array(self, path: KeyPath) -> None:
        self.advance()  # "["
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.at_end() or self.peek() == "]":
                self.advance()
                return
            self.record((*path, index), self.line)
            self.read_value((*path, index))
            index += 1
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.advance()

    def read_inline_table(self, path: KeyPath) -> None:
        self.advance()  # "{"
        while True:
            # Newlines are tolerated for TOML 1.1 parsers; tomllib 1.0 rejects them earlier.
            self.skip_blank(newlines=True)
            if self.at_end() or self.peek() == "}":
                self.advance()
                return
            self.read_pair(path)
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.advance()
