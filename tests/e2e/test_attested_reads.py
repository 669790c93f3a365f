"""A fact attestation vouches for what CTM does not expose, never for a read that failed
(SPEC section 7): with number eligibility absent from every number, ``CTM-NUM-01`` is
``attested``; with the numbers endpoint answering 503, the same attestation leaves the
run an error, so an outage never passes as success; and a 404 from the inferred
account-detail endpoint (plans not exposed) can be attested for ``CTM-PLAN-01``.
Against the sandbox's HTTP server on 127.0.0.1 with the ``ctm`` provider."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hipaactl.providers.sandbox.backend import SandboxBackend
from hipaactl.providers.sandbox.generate import generate_agency
from hipaactl.providers.sandbox.server import (
    ExpectedCredentials,
    Response,
    SandboxServer,
    Simulator,
)
from tests.e2e.conftest import ACCESS_KEY, SECRET_KEY, Run, write_config
from tests.e2e.processes import serve_simulator

Make = Callable[[SandboxBackend], Simulator]


class NumbersUnavailable(Simulator):
    """Every read of an account's tracking numbers answers 503, past the retries."""

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        if method == "GET" and urlsplit(target).path.endswith("/numbers"):
            return Response(503, {"status": "error", "reason": "service unavailable"})
        return super().respond(method, target, authorization, body)


def calm(backend: SandboxBackend) -> Simulator:
    return Simulator(backend, credentials=ExpectedCredentials(ACCESS_KEY, SECRET_KEY))


def numbers_unavailable(backend: SandboxBackend) -> Simulator:
    return NumbersUnavailable(backend, credentials=ExpectedCredentials(ACCESS_KEY, SECRET_KEY))


def without_eligibility() -> dict[str, Any]:
    """A generated agency whose numbers carry no ``hipaa_eligible``: CTM does not show it."""
    document = generate_agency(2, seed=12)
    for account in document["accounts"]:
        for item in account["numbers"]:
            item.pop("hipaa_eligible", None)
    return document


@pytest.fixture
def serve() -> Iterator[Callable[[Make], SandboxServer]]:
    with ExitStack() as stack:

        def start(make: Make) -> SandboxServer:
            document = without_eligibility()

            def simulator(url: str) -> Simulator:
                return make(SandboxBackend(document, base_url=url))

            return stack.enter_context(serve_simulator(simulator))

        yield start


def attested_config(directory: Path, base_url: str) -> str:
    path = write_config(directory, base_url)
    recently = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    path.write_text(
        path.read_text(encoding="utf-8")
        + f'\n[attestations.facts."CTM-NUM-01"]\nconfirmed_on = {recently}\n'
        'by = "compliance@clinic.example"\n'
        'note = "Buy Numbers page: every number we use shows no asterisk"\n',
        encoding="utf-8",
    )
    return str(path)


def num01(run: Run) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads(run.stdout)["results"]
    return [r for r in results if r["rule_id"] == "CTM-NUM-01"]


def test_an_unexposed_fact_is_attested(
    tmp_path: Path, serve: Callable[[Make], SandboxServer], hipaactl: Callable[..., Run]
) -> None:
    server = serve(calm)
    run = hipaactl("-c", attested_config(tmp_path, server.url), "check", "--format", "json")
    results = num01(run)
    assert results and {r["status"] for r in results} == {"attested"}, run.output


def test_a_failed_read_of_the_numbers_is_never_attested(
    tmp_path: Path, serve: Callable[[Make], SandboxServer], hipaactl: Callable[..., Run]
) -> None:
    server = serve(numbers_unavailable)
    run = hipaactl("-c", attested_config(tmp_path, server.url), "check", "--format", "json")
    assert run.code == 1, run.output
    assert "HTTP 503" in run.output
    # check still writes its report (SPEC section 7): the numbers are errors, not attested.
    assert {r["status"] for r in num01(run)} == {"error"}
    assert json.loads(run.stdout)["summary"]["attested"] == 0


class DetailMissing(Simulator):
    """The inferred account-detail endpoint answers 404: this CTM does not expose plans."""

    def respond(self, method: str, target: str, authorization: str | None, body: bytes) -> Response:
        if method == "GET" and re.fullmatch(
            r"/api/v1/accounts/\d+(\.json)?", urlsplit(target).path
        ):
            return Response(404, {"status": "error", "reason": "not found"})
        return super().respond(method, target, authorization, body)


def detail_missing(backend: SandboxBackend) -> Simulator:
    return DetailMissing(backend, credentials=ExpectedCredentials(ACCESS_KEY, SECRET_KEY))


def test_a_404_from_an_inferred_endpoint_can_be_attested(
    tmp_path: Path, serve: Callable[[Make], SandboxServer], hipaactl: Callable[..., Run]
) -> None:
    config = attested_config(tmp_path, serve(detail_missing).url)
    unattested = hipaactl("-c", config, "check", "--format", "json")
    plan_results = [
        r for r in json.loads(unattested.stdout)["results"] if r["rule_id"] == "CTM-PLAN-01"
    ]
    assert plan_results and {r["status"] for r in plan_results} == {"error"}, unattested.output

    recently = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    Path(config).write_text(
        Path(config).read_text(encoding="utf-8")
        + f'\n[attestations.facts."CTM-PLAN-01"]\nconfirmed_on = {recently}\n'
        'by = "compliance@clinic.example"\nnote = "Billing page: every account is on Advanced"\n',
        encoding="utf-8",
    )
    run = hipaactl("-c", config, "check", "--format", "json")
    results = [r for r in json.loads(run.stdout)["results"] if r["rule_id"] == "CTM-PLAN-01"]
    assert results and {r["status"] for r in results} == {"attested"}, run.output
