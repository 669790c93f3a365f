"""The CTM credentials appear nowhere (SPEC section 9): not on stdout or stderr of any
command, not in plan files, reports, imported configs, anything under .hipaactl/ (the
change log, its head, the lock details, the sandbox copy), nor in errors and --debug
tracebacks. ``test_ctm_provider`` covers plan, show and apply of a saved plan; this
covers every other command and the error paths."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import (
    ExpectedCredentials,
    Response,
    SandboxServer,
    Simulator,
)
from tests.e2e.conftest import Run, StartServer, write_config
from tests.e2e.processes import closed_port_url, serve_simulator

Hipaactl = Callable[..., Run]
ACCESS = "acc3ss-KEY-5150"
SECRET = "s3cr3t-KEY-8086"
WRONG_SECRET = "wr0ng-s3cr3t-2600"


def forms(access: str, secret: str) -> tuple[str, ...]:
    """Every shape a key could leak in: as given, URL-encoded, and as the Basic token."""
    token = base64.b64encode(f"{access}:{secret}".encode()).decode()
    return access, secret, quote(secret, safe=""), token


SECRET_FORMS = forms(ACCESS, SECRET) + forms(ACCESS, WRONG_SECRET)[1:]


def assert_nowhere(runs: list[Run], folder: Path, *, skip: tuple[Path, ...] = ()) -> None:
    files = [p for p in folder.rglob("*") if p.is_file() and p not in skip]
    for form in SECRET_FORMS:
        for number, run in enumerate(runs):
            assert form not in run.output, (number, run.output)
        for path in files:
            assert form not in path.read_text(encoding="utf-8", errors="replace"), path


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTM_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("CTM_SECRET_KEY", SECRET)


@pytest.fixture
def strict_server(start_server: StartServer) -> SandboxServer:
    """Accepts only ACCESS / SECRET; a few faults so retries and re-reads happen."""
    return start_server(
        accounts=2,
        seed=2,
        fail_rate=0.1,
        environ={"CTM_ACCESS_KEY": ACCESS, "CTM_SECRET_KEY": SECRET},
    )


@pytest.mark.usefixtures("keys")
def test_no_command_shows_or_stores_the_credentials(
    tmp_path: Path, strict_server: SandboxServer, hipaactl: Hipaactl
) -> None:
    config = str(write_config(tmp_path, strict_server.url, parallelism=1))
    plan_file = str(tmp_path / "plan.json")
    reports = tmp_path / "reports"
    reports.mkdir()

    def run(*args: str) -> Run:
        return hipaactl("-c", config, *args)

    runs = {
        "validate": run("validate"),
        "validate --json": run("validate", "--json"),
        "plan -o --target": run("plan", "-o", plan_file, "--target", "account[1001]"),
        "show": run("show", plan_file),
        "apply PLANFILE": run("apply", plan_file),
        "apply --auto-approve": run("apply", "--auto-approve", "--force"),
        "plan --detailed-exitcode": run("plan", "--detailed-exitcode"),
        "import -o": run("import", "-o", str(tmp_path / "imported.toml")),
        "import": run("import", "--account", "1002"),
        "check": run("check"),
        **{
            f"check --format {kind}": run("check", "--format", kind, "-o", str(reports / kind))
            for kind in ("json", "markdown", "sarif", "junit")
        },
        "audit show": run("audit", "show"),
        "audit show --json": run("audit", "show", "--json"),
        "audit verify": run("audit", "verify"),
        "sandbox reset": run("sandbox", "reset"),
    }

    codes = {name: result.code for name, result in runs.items()}
    # The config's provider is ctm: sandbox reset refuses it (exit 1), naming no key.
    assert codes.pop("sandbox reset") == 1
    assert all(code in (0, 3) for code in codes.values()), codes  # 3: manual attestations
    assert codes["apply --auto-approve"] == codes["plan --detailed-exitcode"] == 0, codes
    assert "Apply complete" in runs["apply PLANFILE"].stdout
    assert strict_server.stats().faults > 0
    assert strict_server.stats().unauthorized == 0
    assert len(list((tmp_path / ".hipaactl").iterdir())) >= 2  # the log and its head
    assert len(list(reports.iterdir())) == 4
    assert_nowhere(list(runs.values()), tmp_path)


@pytest.mark.usefixtures("keys")
def test_keys_read_from_files_appear_nowhere(
    tmp_path: Path,
    strict_server: SandboxServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_folder = tmp_path / "run-secrets"
    key_folder.mkdir()
    (key_folder / "access").write_text(ACCESS + "\n")
    (key_folder / "secret").write_text(SECRET + "\n")
    monkeypatch.delenv("CTM_ACCESS_KEY")
    monkeypatch.delenv("CTM_SECRET_KEY")
    monkeypatch.setenv("CTM_ACCESS_KEY_FILE", str(key_folder / "access"))
    monkeypatch.setenv("CTM_SECRET_KEY_FILE", str(key_folder / "secret"))
    config = str(write_config(tmp_path, strict_server.url, parallelism=1))

    runs = [
        hipaactl("-c", config, "apply", "--auto-approve", "--force"),
        hipaactl("-c", config, "plan", "--detailed-exitcode"),
    ]

    assert [r.code for r in runs] == [0, 0], [r.output for r in runs]
    keys = (key_folder / "access", key_folder / "secret")
    assert_nowhere(runs, tmp_path, skip=keys)


class EchoingServer(Simulator):
    """A broken API that quotes the request's Authorization header in its errors."""

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        reason = f"cannot serve {target} for {authorization} ({ACCESS}:{SECRET})"
        return Response(500, {"status": "error", "reason": reason})


@pytest.fixture
def echoing_server() -> Iterator[SandboxServer]:
    def make(url: str) -> Simulator:
        backend = SandboxBackend(generate_agency(1, seed=1), base_url=url)
        return EchoingServer(backend, credentials=ExpectedCredentials(ACCESS, SECRET))

    with serve_simulator(make) as server:
        yield server


def explode(*args: object, **kwargs: object) -> requests.Response:
    raise ValueError("unexpected failure inside the HTTP client")


@pytest.mark.usefixtures("keys")
def test_errors_and_debug_tracebacks_never_show_the_credentials(
    tmp_path: Path,
    strict_server: SandboxServer,
    echoing_server: SandboxServer,
    start_server: StartServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def debug_plan(url: str) -> Run:
        config = str(write_config(tmp_path, url))
        return hipaactl("--debug", "-c", config, "plan")

    runs = {
        "server echoes the keys": debug_plan(echoing_server.url),
        "connection refused": debug_plan(closed_port_url()),
        "retries exhausted": debug_plan(start_server(accounts=1, fail_rate=1.0).url),
        "unknown target": hipaactl(
            "--debug", "-c", str(write_config(tmp_path, strict_server.url)), "plan",
            "--target", "account[4242]",
        ),
    }  # fmt: skip
    monkeypatch.setenv("CTM_SECRET_KEY", WRONG_SECRET)
    runs["refused credentials"] = debug_plan(strict_server.url)
    runs["refused credentials, apply"] = hipaactl(
        "--debug", "-c", str(tmp_path / "hipaa.toml"), "apply", "--auto-approve"
    )
    monkeypatch.setenv("CTM_SECRET_KEY", SECRET)
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", explode)
    runs["unexpected error"] = debug_plan(strict_server.url)

    assert all(run.code == 1 for run in runs.values()), {k: r.output for k, r in runs.items()}
    assert "HTTP 500" in runs["server echoes the keys"].stderr
    assert "***" in runs["server echoes the keys"].stderr  # quoted, with the keys masked
    assert "CTM_SECRET_KEY" in runs["refused credentials"].stderr
    traceback = runs["unexpected error"].stderr
    assert "Traceback (most recent call last)" in traceback
    assert "ValueError: unexpected failure inside the HTTP client" in traceback
    assert_nowhere(list(runs.values()), tmp_path)


def test_a_key_that_is_not_latin1_is_refused_without_showing_it(
    tmp_path: Path,
    strict_server: SandboxServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "zq7-Łódź-ключ-4242-xyz"
    monkeypatch.setenv("CTM_SECRET_KEY", key)
    config = str(write_config(tmp_path, strict_server.url))

    run = hipaactl("--debug", "-c", config, "plan")

    assert run.code == 1, run.output
    assert "CTM_SECRET_KEY holds a character outside Latin-1" in run.stderr
    assert not any(char in run.output for char in "Łźключ")
    assert not any(key[i : i + 8] in run.output for i in range(len(key) - 7))
    assert strict_server.stats().requests == 0  # refused before any request


@pytest.mark.usefixtures("keys")
def test_plain_http_to_this_machine_ignores_proxy_variables(
    tmp_path: Path,
    strict_server: SandboxServer,
    hipaactl: Hipaactl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead_proxy = closed_port_url().removesuffix("/api/v1")
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    config = str(write_config(tmp_path, strict_server.url))

    run = hipaactl("-c", config, "plan")

    assert run.code == 0, run.output
    assert "proxy" not in run.stderr.lower()
