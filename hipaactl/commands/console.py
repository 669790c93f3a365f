"""Where output goes: results to stdout; progress, warnings, prompts, errors to stderr.

These are the CLI's only sinks, and each passes its text whole through the one scrubber
(``hipaactl.model.scrub``, SPEC section 9) before writing it: stdout, stderr, and the
files written with ``-o``.
"""

from __future__ import annotations

import os
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
    from hipaactl.files import write_text_atomic

    try:
        write_text_atomic(path, scrub(text))
    except OSError as exc:
        raise HipaactlError(f"cannot write {path}: {exc.strerror}") from None
