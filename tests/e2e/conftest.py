"""End-to-end fixtures: ``sandbox serve`` in a thread on 127.0.0.1, a ``ctm`` config
pointed at it, and the real CLI run in process.

The ``ctm`` provider builds its HTTP transport with the default backoff (0.5 s doubling
to 30 s), which would make fault tests take minutes; ``fast_retries`` shrinks it to
milliseconds. Everything else — rate limiter, retry table, paging — runs as in
production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hipaactl import cli
from hipaactl.providers.ctm import http
from hipaactl.providers.ctm.retry import Backoff
from hipaactl.providers.sandbox.server import SandboxServer, ServeOptions, serving

ACCESS_KEY = "e2e-access"
SECRET_KEY = "e2e-secret"

StartServer = Callable[..., SandboxServer]


@dataclass(frozen=True)
class FastBackoff(Backoff):
    base: float = 0.002
    maximum: float = 0.01


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "Backoff", FastBackoff)


@pytest.fixture(autouse=True)
def ctm_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTM_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("CTM_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("CTM_ACCESS_KEY_FILE", "CTM_SECRET_KEY_FILE", "HIPAACTL_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start ``sandbox serve`` with the given ``ServeOptions`` fields on 127.0.0.1, port
    0, accepting the test keys (or those in ``environ``); every server started is
    stopped at the end of the test."""
    with ExitStack() as stack:

        def start(*, environ: dict[str, str] | None = None, **options: Any) -> SandboxServer:
            keys = {"CTM_ACCESS_KEY": ACCESS_KEY, "CTM_SECRET_KEY": SECRET_KEY}
            return stack.enter_context(serving(ServeOptions(**options), environ=environ or keys))

        yield start


def write_config(
    directory: Path,
    base_url: str,
    *,
    rate_limit: float = 100,
    parallelism: int = 4,
    allow_inferred_writes: bool = True,
) -> Path:
    """A ``ctm`` config over a generated agency (ids from 1001): every account managed
    with the usual defaults, and one new user to create in 1001. The inferred endpoints
    are writable unless ``allow_inferred_writes`` is false (the simulator serves them)."""
    path = directory / "hipaa.toml"
    path.write_text(
        f"""\
version = 1
policies = ["ctm-hipaa-current"]

[provider]
kind = "ctm"
base_url = "{base_url}"
rate_limit = {rate_limit}
parallelism = {parallelism}
allow_inferred_writes = {str(allow_inferred_writes).lower()}

[agency.security]
idle_timeout_minutes = 15
two_factor = "every_login"
require_login_for_recordings = true

[defaults]
recordings = {{ enabled = true, encrypted = true, encrypted_storage = true }}
transcription = "secure"
redaction = "30_days"
caller_id = {{ enabled = false, enhanced = false }}
notifications = {{ phi_fields = "strip", extra_phi_fields = [] }}
users = {{ mode = "additive" }}

[accounts]
include = ["*"]

[[account]]
id = 1001

[[account.user]]
email = "new.hire@e2e-clinic.example"
first_name = "New"
last_name = "Hire"
role = "agent"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def hipaactl(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run the real CLI in process: ``hipaactl(*args)`` -> exit code and output."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        try:
            cli.main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
