"""Where output goes: results to stdout; progress, warnings, prompts, errors to stderr.

These are the CLI's only sinks, and each passes its text whole through the one scrubber
(``hipaactl.model.scrub``, SPEC section 9) before writing it: stdout, stderr, and the
files written with ``-o``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hipaactl.model.scrub import scrub

if TYPE_CHECKING:
    from hipaactl.live.read import Progress


@dataclass
class ConsoleOptions:
    no_color: bool = False

    @property
    def color(self) -> bool:
        """Whether to colour output: not with ``--no-color`` or ``$NO_COLOR`` set."""
        return not (self.no_color or os.environ.get("NO_COLOR"))


CONSOLE = ConsoleOptions()


def out(text: str) -> None:
    """Write ``text`` to stdout (the command's result), scrubbed, and flush."""
    sys.stdout.write(scrub(text))
    sys.stdout.flush()


# Terraform's colours, by what a line starts with (first match wins).
LINE_STYLES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), style)
    for pattern, style in (
        (r"^\s*!! ", "bold red"),  # unsafe
        (r"^\s*\+ ", "green"),  # create
        (r"^\s*~ ", "yellow"),  # update
        (r"^\s*- ", "red"),  # delete
        (r"^\s*! ", "bold magenta"),  # manual action
        (r"^\s*(applied)\b", "green"),
        (r"^\s*(FAILED|UNKNOWN)\b", "bold red"),
        (r"^\s*(skipped|not started)\b", "yellow"),
        (r"^(Failed mandatory rules|Could not be evaluated)", "bold red"),
        (r"^(Failed advisory rules|Waiting for an attestation)", "yellow"),
        (r"^Passed \(", "green"),
        (r"^Result: all mandatory checks passed", "bold green"),
        (r"^Result: ", "bold red"),
        (r"^(Plan|Apply \w+): ", "bold"),
    )
)


def style_of(line: str) -> str | None:
    """The rich style of one line of a plan or report, or None (plain)."""
    return next((style for pattern, style in LINE_STYLES if pattern.match(line)), None)


def stdout_in_color() -> bool:
    """Colour only for a person at a terminal: never with --no-color or NO_COLOR, never
    when piped (unless FORCE_COLOR asks for it, as rich and many CI systems honour)."""
    if not CONSOLE.color:
        return False
    return sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))


def out_styled(text: str) -> None:
    """A plan, apply report or text check report on stdout, coloured line by line the
    way Terraform colours its plans when ``stdout_in_color``; plain otherwise."""
    if not stdout_in_color():
        out(text)
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(
        file=sys.stdout,
        force_terminal=True,
        color_system="standard",
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=True,
    )
    # Scrubbed whole before it is cut into lines, like every sink.
    for line in scrub(text).splitlines():
        console.print(Text(line, style=style_of(line) or ""))
    sys.stdout.flush()


def err(text: str) -> None:
    """Write ``text`` to stderr, scrubbed, with one trailing newline, and flush."""
    text = scrub(text)
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def warn_all(warnings: Sequence[str]) -> None:
    """Print each warning on stderr as ``warning: <text>``."""
    for warning in warnings:
        err(f"warning: {warning}")


@contextmanager
def progress_bar(label: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal and there is more than one
    account; silent otherwise, so CI logs stay clean."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress as RichProgress

    console = Console(stderr=True, no_color=not CONSOLE.color)
    with RichProgress(console=console, transient=True) as bar:
        task = bar.add_task(label, total=None, visible=False)

        def update(done: int, total: int) -> None:
            if total > 1:
                bar.update(task, completed=done, total=total, visible=True)

        yield update


def write_text_file(path: Path, text: str) -> None:
    """Write ``text`` (a plan, report or imported config), scrubbed, to ``path``
    atomically, 0600 and never through a symbolic link; raises HipaactlError naming the
    path on OSError."""
    from hipaactl.errors import HipaactlError
    from hipaactl.files import os_error_reason, write_text_atomic

    try:
        write_text_atomic(path, scrub(text))
    except OSError as exc:
        raise HipaactlError(f"cannot write {display_path(path)}: {os_error_reason(exc)}") from None


def display_path(path: Path) -> str:
    """How every command prints a path: relative to the working directory when it lies
    under it, else absolute (``hipaactl.files.shown_path``)."""
    from hipaactl.files import shown_path

    return shown_path(path)
