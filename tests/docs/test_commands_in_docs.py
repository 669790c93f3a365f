"""Every ``hipaactl`` command shown in README.md, docs/*.md and the GitOps recipes'
README runs as written.

Each document runs in its own temporary copy of the repository's examples (the working
directory is the copy's root, where ``cd examples/clinic`` works), its shell blocks in
order, the way a reader pastes them. A command exits with the code its line documents
(``# exit N``), else with 0, 2 or 3, and never with a usage error or a crash. A webhook
URL in a command is pointed at a local receiver; ``hipaactl sandbox serve ... &`` runs
in the background until the document ends, on a free port (``--port 0``) that replaces
the documented one wherever the document uses it (``Session.localize``).

Markers, on the line right before a fence:
- ``<!-- docs-test: write FILE -->``: the block is written to FILE (a config a later
  command reads);
- ``<!-- docs-test: skip REASON -->``: the block is not run (a placeholder).
YAML blocks are not run, but their ``hipaactl`` lines must parse.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.commandlines import Outcome, Session, hipaactl_commands, parse_cli
from tests.webhook import Receiver, receiving

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (
    "README.md",
    *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")),
    "examples/gitops/README.md",
)
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console"})
DOCUMENTED_CODES = (0, 2, 3)
_FENCE = re.compile(r"^(```|~~~)\s*([\w-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*docs-test:\s*(write|skip)\s+(.+?)\s*-->$")
# A hipaactl command line wherever it appears in a code block.
_COMMAND_LINE = re.compile(
    r"^\s*(?:\$\s+)?hipaactl\s+(?:-\S+\s+\S+\s+)*"
    r"(?:validate|plan|apply|show|check|import|init|doctor|policies|audit|sandbox|schema"
    r"|evidence|--version"
    r"|--help)\b"
)


@dataclass(frozen=True)
class Block:
    document: str
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    marker: tuple[str, str] | None  # ("write" | "skip", argument)

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def code_blocks(document: str) -> list[Block]:
    lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == opening.group(1))
        marker = _MARKER.match(lines[index - 1].strip()) if index else None
        blocks.append(
            Block(
                document,
                index + 1,
                opening.group(2).lower(),
                "\n".join(lines[index + 1 : end]) + "\n",
                (marker.group(1), marker.group(2)) if marker else None,
            )
        )
        index = end + 1
    return blocks


def shell_text(block: Block) -> str:
    if block.language != "console":
        return block.text
    commands = [line[2:] for line in block.text.splitlines() if line.startswith("$ ")]
    return "\n".join(commands) + "\n"


def problem(block: Block, outcome: Outcome) -> str | None:
    """What is wrong with one command's run, or None."""
    expected = outcome.command.exit_code
    wanted = (expected,) if expected is not None else DOCUMENTED_CODES
    crashed = "unexpected " in outcome.stderr or "Traceback" in outcome.stderr
    usage = "see: hipaactl --help" in outcome.stderr
    if outcome.code in wanted and not crashed and not usage:
        return None
    return (
        f"{block.where}: `{outcome.command.line}` exited {outcome.code}, documented "
        f"{' or '.join(map(str, wanted))}\n{outcome.stderr[-1500:]}"
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


def new_session(tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]) -> Session:
    root = tmp_path / "repo"
    leftovers = shutil.ignore_patterns(".hipaactl")
    shutil.copytree(ROOT / "examples", root / "examples", ignore=leftovers)
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("HIPAACTL_", "CTM_", "NO_COLOR"))
    }
    environ["NO_COLOR"] = "1"
    return Session(root, environ, receiver.url, capsys)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_command_in_the_document_runs_as_written(
    document: str, tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    session = new_session(tmp_path, receiver, capsys)
    problems: list[str] = []
    ran = 0
    try:
        for block in code_blocks(document):
            if block.marker is not None and block.marker[0] == "write":
                text = session.localize(block.text)  # the port sandbox serve really got
                (session.cwd / block.marker[1]).write_text(text, encoding="utf-8")
            elif block.marker is not None:
                continue  # skip, with its reason in the document
            elif block.language in SHELL_LANGUAGES:
                for outcome in session.run_text(shell_text(block)):
                    ran += 1
                    problems.extend(filter(None, [problem(block, outcome)]))
            elif block.language in ("yaml", "yml"):
                for command in hipaactl_commands(block.text):
                    parse_cli(command.args)
            else:
                shown = [line for line in block.text.splitlines() if _COMMAND_LINE.match(line)]
                assert not shown, f"{block.where}: commands outside a shell block: {shown}"
    finally:
        session.close()
    assert problems == [], "\n\n".join(problems)
    if document in ("README.md", "docs/getting-started.md"):
        assert ran >= 5


def test_the_docs_test_sees_every_document() -> None:
    assert "README.md" in DOCUMENTS and "docs/getting-started.md" in DOCUMENTS


def test_exit_annotations_are_read_from_the_line() -> None:
    (command,) = hipaactl_commands("hipaactl check   # exit 3: mandatory rules fail\n")
    assert command.exit_code == 3
    (command,) = hipaactl_commands("hipaactl plan --detailed-exitcode\n")
    assert command.exit_code is None


def test_a_failing_or_misused_command_is_reported() -> None:
    block = Block("docs/x.md", 3, "sh", "", None)
    (plain,) = hipaactl_commands("hipaactl plan\n")
    (annotated,) = hipaactl_commands("hipaactl check   # exit 3\n")
    assert problem(block, Outcome(plain, plain.args, 0, "", "")) is None
    assert problem(block, Outcome(plain, plain.args, 1, "", "error: stale plan")) is not None
    usage = "error: No such option: --x\n  see: hipaactl --help\n"
    assert problem(block, Outcome(plain, plain.args, 1, "", usage)) is not None
    assert problem(block, Outcome(annotated, annotated.args, 0, "", "")) is not None
    assert problem(block, Outcome(annotated, annotated.args, 3, "", "")) is None


def test_a_documented_sandbox_port_is_replaced_by_a_free_one(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    session = new_session(tmp_path, receiver, capsys)
    session.environ.update({"CTM_ACCESS_KEY": "docs-access", "CTM_SECRET_KEY": "docs-secret"})
    try:
        session.run_text("hipaactl sandbox serve --port 8765 &\n")
        (child,) = session.children
        config = session.localize('base_url = "http://127.0.0.1:8765/api/v1"')
        args = session.localize("http://localhost:8765/api/v1")
    finally:
        session.close()

    assert child.args[-2:] == ["--port", "0"]  # never the fixed port itself
    actual = session.ports["127.0.0.1:8765"]
    assert config == f'base_url = "http://{actual}/api/v1"'
    assert args == f"http://{session.ports['localhost:8765']}/api/v1"
