"""Find the ``hipaactl`` command lines in shell text (docs, CI recipes, crontab), parse
them with the real CLI, and run them as written.

Shell is read the way a person pastes it: lines (with ``\\`` continuations), simple
commands split at ``&&``, ``||``, ``;``, ``|`` and ``&``, redirections dropped, leading
``NAME=value`` assignments kept as environment. Only ``cd``, ``export`` and ``hipaactl``
itself are carried out by ``Session``; a line may end with ``# exit N`` to say which exit
code it documents.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from hipaactl.cli import GlobalOptions, app, hoist_global_options, main

SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", "{", "}", ";;"})
REDIRECTIONS = frozenset({">", ">>", "<", ">&", "<&", "&>", ">|", "<<", "<<<", "&>>"})
_EXIT_COMMENT = re.compile(r"#.*?\bexit (\d)\b")
_HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")
# Commands the docs and recipes may show around hipaactl that a test does not run.
NOT_RUN = frozenset(
    {"python", "python3", "pip", "pytest", ".", "source", "git", "pre-commit", "crontab", "mkdir"}
)
SERVE_START_SECONDS = 10.0
STOP_SECONDS = 5.0


@dataclass(frozen=True)
class Command:
    """One simple command: its words, ``NAME=value`` prefixes, and what the line said."""

    words: tuple[str, ...]
    environ: Mapping[str, str] = field(default_factory=dict)
    background: bool = False
    exit_code: int | None = None  # from a "# exit N" comment on the line
    line: str = ""

    @property
    def is_hipaactl(self) -> bool:
        return bool(self.words) and self.words[0] == "hipaactl"

    @property
    def args(self) -> tuple[str, ...]:
        return self.words[1:]


def logical_lines(text: str) -> Iterator[str]:
    """Lines with ``\\`` continuations joined and here-document bodies left out."""
    pending = ""
    heredoc: str | None = None
    for raw in text.splitlines():
        if heredoc is not None:
            if raw.strip() == heredoc:
                heredoc = None
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line, pending = pending + raw, ""
        found = _HEREDOC.search(line)
        if found:
            heredoc = found.group(1)
        yield line
    if pending:
        yield pending


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def commands_of_line(line: str) -> list[Command]:
    """The simple commands of one logical line."""
    found = _EXIT_COMMENT.search(line)
    exit_code = int(found.group(1)) if found else None
    commands: list[Command] = []
    words: list[str] = []
    tokens = _tokens(line)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in REDIRECTIONS:
            if words and words[-1].isdigit():
                words.pop()  # the "2" of "2>&1"
            index += 2
            continue
        if token in SEPARATORS:
            if words:
                commands.append(_command(words, token == "&", exit_code, line))
            words = []
        else:
            words.append(token)
        index += 1
    if words:
        commands.append(_command(words, False, exit_code, line))
    return commands


def _command(words: list[str], background: bool, exit_code: int | None, line: str) -> Command:
    environ: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        environ[name] = value
    return Command(tuple(words), environ, background, exit_code, line.strip())


def shell_commands(text: str) -> list[Command]:
    return [c for line in logical_lines(text) for c in commands_of_line(line)]


def hipaactl_commands(text: str) -> list[Command]:
    return [c for c in shell_commands(text) if c.is_hipaactl]


def expand(word: str, environ: Mapping[str, str]) -> str:
    """``$NAME``, ``${NAME}`` and ``${NAME:-default}`` from ``environ``."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        return environ.get(name) or (match.group(2) or "")

    return _VARIABLE.sub(value, word)


# -- parsing with the real CLI ---------------------------------------------------------


def parse_cli(args: Sequence[str]) -> list[str]:
    """Parse ``hipaactl ARGS`` with the real command tree without running it; returns
    the command path (``["policies", "show"]``). Raises the CLI's usage error (unknown
    option, missing argument, bad value) as an AssertionError naming the line."""
    rest = hoist_global_options(list(args), GlobalOptions(config=Path("hipaa.toml")))
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    try:
        context = command.make_context("hipaactl", rest)
        while hasattr(command, "resolve_command"):
            remaining = [*_protected(context), *context.args]
            if not remaining:
                break
            name, command, remaining = command.resolve_command(context, remaining)
            path.append(name)
            context = command.make_context(name, remaining, parent=context)
    except Exception as exc:
        if hasattr(exc, "format_message"):
            raise AssertionError(f"hipaactl {shlex.join(args)}: {exc.format_message()}") from None
        raise
    return path


def _protected(context: Any) -> list[str]:
    # The vendored click of newer typer keeps the subcommand in ``_protected_args``.
    found = getattr(context, "_protected_args", None)
    return list(found if found is not None else context.protected_args)


# -- running as written -------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    command: Command
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


@dataclass
class Session:
    """A working directory and environment in which command lines run one by one, the
    way a person pastes them into a shell. ``hipaactl`` runs in process; one that ends
    with ``&`` (``sandbox serve``) runs as a child until the session is closed.

    ``rewrite_url`` maps any http(s) URL that is not on this machine (a webhook in the
    docs) to a local one, so no test ever posts to the internet.

    No fixed port: ``sandbox serve --port N`` runs with ``--port 0``, and ``ports`` maps
    ``127.0.0.1:N`` (and ``localhost:N``) to the port it got, in later command words,
    exported values and files written from the document (``localize``). So the docs can
    show a memorable port while two test runs on one machine never collide."""

    cwd: Path
    environ: dict[str, str]
    rewrite_url: str
    capture: Any  # pytest's capsys
    children: list[subprocess.Popen[str]] = field(default_factory=list)
    ports: dict[str, str] = field(default_factory=dict)

    def localize(self, text: str) -> str:
        """``text`` with every documented sandbox port replaced by the one in use."""
        for documented, actual in self.ports.items():
            text = text.replace(documented, actual)
        return text

    def run_text(self, text: str) -> list[Outcome]:
        outcomes = []
        for command in shell_commands(text):
            outcome = self.run(command)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def run(self, command: Command) -> Outcome | None:
        if not command.words:
            return None
        name = command.words[0]
        if name == "cd":
            self.cwd = (self.cwd / expand(command.words[1], self.environ)).resolve()
            assert self.cwd.is_dir(), f"{command.line!r}: no such directory {self.cwd}"
            return None
        if name == "export":
            for assignment in command.words[1:]:
                key, _, value = assignment.partition("=")
                self.environ[key] = self.localize(self._local(expand(value, self.environ)))
            return None
        if name != "hipaactl":
            if name not in NOT_RUN:
                raise AssertionError(f"not a command the docs test knows: {command.line!r}")
            return None
        prefixes = {k: self._local(expand(v, self.environ)) for k, v in command.environ.items()}
        environ = {**self.environ, **prefixes}
        args = tuple(self.localize(self._local(expand(word, environ))) for word in command.args)
        if command.background:
            self._start_child(args, environ)
            return Outcome(command, args, 0, "", "")
        return self._run_in_process(command, args, environ)

    def _local(self, word: str) -> str:
        url = re.fullmatch(r"((?:slack|teams):)?(https?://([^/:]+)\S*)", word)
        if url is None or url.group(3) in ("127.0.0.1", "localhost"):
            return word
        return (url.group(1) or "") + self.rewrite_url

    def _run_in_process(
        self, command: Command, args: tuple[str, ...], environ: Mapping[str, str]
    ) -> Outcome:
        with _environment(environ), _working_directory(self.cwd):
            self.capture.readouterr()
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            captured = self.capture.readouterr()
        return Outcome(command, args, code, captured.out, captured.err)

    def _start_child(self, args: tuple[str, ...], environ: Mapping[str, str]) -> None:
        documented = _option_value(args, "--port")
        if documented not in (None, "0"):
            args = _with_option(args, "--port", "0")
        child = subprocess.Popen(
            [sys.executable, "-m", "hipaactl", *args],
            cwd=self.cwd,
            env={**environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.children.append(child)
        line = _wait_for_line(child, "Serving ")
        served = re.search(r"//(?:127\.0\.0\.1|localhost):(\d+)", line)
        if documented not in (None, "0") and served is not None:
            for host in ("127.0.0.1", "localhost"):
                self.ports[f"{host}:{documented}"] = f"{host}:{served.group(1)}"

    def close(self) -> None:
        for child in self.children:
            child.terminate()
            try:
                child.communicate(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
        self.children.clear()


def _option_value(args: Sequence[str], name: str) -> str | None:
    for index, word in enumerate(args):
        if word == name and index + 1 < len(args):
            return args[index + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def _with_option(args: Sequence[str], name: str, value: str) -> tuple[str, ...]:
    result: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
            continue
        if word == name:
            skip = True
            continue
        if not word.startswith(name + "="):
            result.append(word)
    return (*result, name, value)


def _wait_for_line(child: subprocess.Popen[str], prefix: str) -> str:
    """Wait until the child prints a line starting with ``prefix``; a reader thread keeps
    the wait bounded even when the child prints nothing."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)
        lines.put("")  # end of output

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + SERVE_START_SECONDS
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"{child.args!r} printed no {prefix!r} line in time") from None
        if line.startswith(prefix):
            return line
        if not line:
            raise AssertionError(f"{child.args!r} exited {child.wait()} before {prefix!r}")


@contextmanager
def _environment(environ: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    saved = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(saved)
