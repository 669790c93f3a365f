"""How close `hipaactl plan` comes to the request floor over many accounts (SPEC section 10).

Starts `hipaactl sandbox serve` with a generated agency, injected latency and a rate
limit; runs `hipaactl plan` against it as the `ctm` provider; prints wall time, the
server's request and 429 counts, the requests per endpoint against what the config and
packs need (one per account for each resource kind read, the account list's pages, the
agency's security once), the floor

    floor = max(requests / rate_limit, requests x latency / parallelism)

and wall / floor, the plan process's peak RSS and CPU, and the CPU share of diff and
policy evaluation.

It then calibrates the machine: the same GETs, sent by ``parallelism`` threads through a
bare ``requests`` adapter (no hipaactl transport, mapping, diff or policy) paced by the
same limiter, against the same simulator. Its wall / floor is the best a client built on
``requests`` reaches here; what plan spends above it is hipaactl's own.

The diff and policy share comes from a second, in-process pass over the same
generated agency read through the in-process transport (no HTTP, no latency):
``build_plan`` with the reads done beforehand and time.process_time around the functions
it calls for diffing (diff_agency, diff_account, mark_unsafe) and for policy
evaluation (evaluate_read_only: the rules over read-only facts, which is all a plan
evaluates), divided by the wall time of the real plan
run.

    python benchmarks/plan_scale.py --accounts 1000 --latency-ms 50 --rate-limit 200
    python benchmarks/plan_scale.py --accounts 1000 --latency-ms 40 --rate-limit 100

The simulator serves CTM's real shapes (ctm-api-evidence.md): the account list has no
plan, so the plan comes from one account-detail request per account.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import math
import os
import queue
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

SERVE_COMMAND = [sys.executable, "-m", "hipaactl", "sandbox", "serve"]
PLAN_COMMAND = [sys.executable, "-m", "hipaactl"]
URL_LINE = re.compile(r"Serving CTM-compatible sandbox on (?P<url>http://\S+)")
CREDENTIALS = {"CTM_ACCESS_KEY": "bench-access", "CTM_SECRET_KEY": "bench-secret"}
SERVER_START_SECONDS = 120.0

# Targets of SPEC section 10 and issue 11.
MAX_RATIO = 1.05
MAX_REQUESTS_PER_ACCOUNT = 8
MAX_DIFF_POLICY_SHARE = 0.05
LIST_PAGE_SIZE = 150  # the provider asks for CTM's largest page
# The endpoint that serves each resource kind of an account (hipaactl.model.state).
KIND_ENDPOINTS = {"settings": "account_settings", "plan": "account_detail"}

# The functions build_plan calls for each stage (names in hipaactl.pipeline).
DIFF_STAGES = ("diff_agency", "diff_account", "mark_unsafe")
POLICY_STAGES = ("evaluate_read_only",)

CONFIG = """\
version = 1
policies = ["ctm-hipaa-current"]

[provider]
kind = "ctm"
base_url = "{base_url}"
rate_limit = {rate_limit}
parallelism = {parallelism}

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
"""


@dataclass(frozen=True)
class PlanRun:
    wall: float
    exit_code: int
    peak_rss_mb: float
    cpu: float  # user + system seconds of the plan process


@dataclass(frozen=True)
class StageTimes:
    diff_cpu: float
    policy_cpu: float


def expected_requests(config: Path, accounts: int) -> dict[str, int]:
    """Requests per ``GET endpoint`` a plan needs: one per account for each resource kind
    the config manages or a loaded pack checks, the account list's pages, and the
    agency's security settings once."""
    from hipaactl import pipeline
    from hipaactl.plan.desired import kinds_to_manage
    from hipaactl.policy.views import read_only_resource_kinds

    inputs = pipeline.load_inputs(config, today=dt.date.today())
    kinds = kinds_to_manage(inputs.config.defaults) | read_only_resource_kinds(
        inputs.packs, inputs.config
    )
    expected = {f"GET {KIND_ENDPOINTS.get(kind, kind)}": accounts for kind in sorted(kinds)}
    expected["GET accounts"] = max(1, math.ceil(accounts / LIST_PAGE_SIZE))
    expected["GET agency_security"] = 1
    return expected


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rate-limit", type=float, default=200.0)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CTM_", "HIPAACTL_"))}
    return {**env, **CREDENTIALS, "NO_COLOR": "1"}


def start_server(args: argparse.Namespace, log: Path) -> tuple[subprocess.Popen[str], str]:
    command = [
        *SERVE_COMMAND,
        "--host", "127.0.0.1", "--port", "0",
        "--accounts", str(args.accounts), "--seed", str(args.seed),
        "--latency-ms", f"{args.latency_ms:g}", "--rate-limit", f"{args.rate_limit:g}",
    ]  # fmt: skip
    with log.open("w", encoding="utf-8") as stderr:
        server = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=environment()
        )
    assert server.stdout is not None
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        match = URL_LINE.search(line)
        if match:
            return server, match.group("url")
        if not line and server.poll() is not None:
            break
    server.kill()
    raise SystemExit(f"the simulator did not start:\n{log.read_text(encoding='utf-8')}")


def stop_server(server: subprocess.Popen[str]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def server_stats(base_url: str) -> dict[str, Any]:
    parts = urlsplit(base_url)
    with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/__stats", timeout=10) as reply:
        stats: dict[str, Any] = json.loads(reply.read())
    return stats


def write_config(directory: Path, base_url: str, args: argparse.Namespace) -> Path:
    path = directory / "hipaa.toml"
    text = CONFIG.format(
        base_url=base_url, rate_limit=f"{args.rate_limit:g}", parallelism=args.parallelism
    )
    path.write_text(text, encoding="utf-8")
    return path


def run_plan(config: Path, directory: Path) -> PlanRun:
    """Run `hipaactl plan` as a child; its peak RSS and CPU come from RUSAGE_CHILDREN,
    which at this point covers only it (the server has not been waited for)."""
    command = [*PLAN_COMMAND, "-c", str(config), "plan"]
    with (directory / "plan.out").open("w") as out, (directory / "plan.err").open("w") as err:
        start = time.perf_counter()
        code = subprocess.call(
            command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=environment()
        )
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    rss_bytes = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return PlanRun(wall, code, rss_bytes / 1e6, usage.ru_utime + usage.ru_stime)


def time_diff_and_policy(config: Path, args: argparse.Namespace) -> StageTimes:
    """CPU of the diff and policy stages of ``build_plan``, in process, over the same
    generated agency read through the in-process transport."""
    from hipaactl import pipeline
    from hipaactl.providers.ctm.endpoints import EndpointTable
    from hipaactl.providers.ctm.mapping import CtmProvider
    from hipaactl.providers.sandbox.backend import SandboxBackend
    from hipaactl.providers.sandbox.generate import generate_agency
    from hipaactl.providers.sandbox.inprocess import InProcessTransport

    inputs = pipeline.load_inputs(config, today=dt.date.today())
    backend = SandboxBackend(generate_agency(args.accounts, seed=args.seed))
    provider = CtmProvider(InProcessTransport(backend), EndpointTable({}))
    read = pipeline.read_live(inputs, provider, pipeline.PlanOptions(parallelism=1))
    cpu = dict.fromkeys((*DIFF_STAGES, *POLICY_STAGES), 0.0)
    with ExitStack() as stack:
        stack.enter_context(_replaced(pipeline, "read_live", _replay(read)))
        for name in cpu:
            stack.enter_context(
                _replaced(pipeline, name, _timed(getattr(pipeline, name), name, cpu))
            )
        pipeline.build_plan(inputs, provider, pipeline.PlanOptions())
    return StageTimes(sum(cpu[n] for n in DIFF_STAGES), sum(cpu[n] for n in POLICY_STAGES))


def _replay(read: Any) -> Callable[..., Any]:
    """A read_live that hands the accounts read beforehand to the plan's listener."""

    def replay(*_args: Any, on_account: Any = None, **_kwargs: Any) -> Any:
        for account in read.live.accounts:
            if on_account is not None:
                on_account(read.live.agency_security, account)
        return read

    return replay


def _timed(function: Callable[..., Any], name: str, cpu: dict[str, float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            cpu[name] += time.process_time() - start

    return timed


@contextmanager
def _replaced(module: ModuleType, name: str, value: Any) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


@dataclass(frozen=True)
class Calibration:
    wall: float
    requests: int


def calibration_paths(accounts: int, seed: int, expected: dict[str, int]) -> list[list[str]]:
    """The GETs plan sends, grouped as its workers send them: the account list's pages and
    agency security first, then one group per account (one path per kind read)."""
    from hipaactl.providers.ctm.endpoints import EndpointTable
    from hipaactl.providers.ctm.mapping import PER_PAGE
    from hipaactl.providers.sandbox.generate import generate_agency

    table = EndpointTable({})
    names = [key.removeprefix("GET ") for key in expected]
    per_account = [n for n in names if n not in ("accounts", "agency_security")]
    pages = [
        f"/accounts?page={n}&per_page={PER_PAGE}" for n in range(1, expected["GET accounts"] + 1)
    ]

    def path(name: str, account_id: int) -> str:
        paged = table.endpoint(name).list_key is not None
        return table.collection(name, account_id) + (
            f"?page=1&per_page={PER_PAGE}" if paged else ""
        )

    ids = [a["id"] for a in generate_agency(accounts, seed=seed)["accounts"]]
    groups = [[*pages, table.collection("agency_security")]]
    return groups + [[path(n, int(i)) for n in per_account] for i in ids]


def calibrate(base_url: str, args: argparse.Namespace, groups: list[list[str]]) -> Calibration:
    """Send ``groups`` by ``args.parallelism`` threads (each group in order, by one
    thread) through one bare ``requests`` adapter, paced by hipaactl's limiter."""
    import requests
    from requests.adapters import HTTPAdapter

    from hipaactl.providers.ctm.ratelimit import limiter_for

    adapter = HTTPAdapter(pool_maxsize=args.parallelism)
    limiter = limiter_for(args.rate_limit)
    token = base64.b64encode(
        f"{CREDENTIALS['CTM_ACCESS_KEY']}:{CREDENTIALS['CTM_SECRET_KEY']}".encode()
    ).decode()
    headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
    work: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
    for group in groups:
        work.put(group)

    def worker() -> None:
        while True:
            try:
                group = work.get_nowait()
            except queue.Empty:
                return
            for path in group:
                prepared = requests.Request("GET", base_url + path, headers=headers).prepare()
                limiter.acquire()
                adapter.send(prepared, timeout=(5, 30)).json()

    threads = [threading.Thread(target=worker) for _ in range(args.parallelism)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    adapter.close()
    return Calibration(wall, sum(len(g) for g in groups))


def floor_seconds(requests: int, args: argparse.Namespace) -> float:
    """SPEC section 10's floor for ``requests`` under ``args``' profile."""
    latency = args.latency_ms / 1000
    return max(requests / args.rate_limit, requests * latency / args.parallelism)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def endpoint_lines(counts: dict[str, int], expected: dict[str, int]) -> list[str]:
    lines = ["requests per endpoint   (needed by the config and packs: exactly these)"]
    for key in sorted(set(counts) | set(expected)):
        got, wanted = counts.get(key, 0), expected.get(key, 0)
        lines.append(f"  {key:<28}{got:>7}   (expected {wanted}: {verdict(got == wanted)})")
    return lines


def report(
    args: argparse.Namespace,
    run: PlanRun,
    stats: dict[str, Any],
    stages: StageTimes,
    expected: dict[str, int],
    calibration: Calibration,
) -> str:
    requests = stats["requests"]
    latency = args.latency_ms / 1000
    floor = floor_seconds(requests, args)
    ratio = run.wall / floor
    bare_ratio = calibration.wall / floor_seconds(calibration.requests, args)
    per_account = requests / args.accounts
    share = (stages.diff_cpu + stages.policy_cpu) / run.wall
    lines = [
        f"plan_scale: {args.accounts} accounts, latency {args.latency_ms:g} ms, "
        f"rate limit {args.rate_limit:g}/s, parallelism {args.parallelism}, seed {args.seed}",
        f"wall time               {run.wall:.2f} s",
        f"requests                {requests}",
        f"requests per account    {per_account:.2f}   (target <= {MAX_REQUESTS_PER_ACCOUNT}: "
        f"{verdict(per_account <= MAX_REQUESTS_PER_ACCOUNT)})",
        f"429 replies             {stats['rate_limited']}   "
        f"(target 0: {verdict(stats['rate_limited'] == 0)})",
        *endpoint_lines(stats.get("by_endpoint", {}), expected),
        f"floor                   {floor:.2f} s = max({requests} / {args.rate_limit:g}, "
        f"{requests} x {latency:g} / {args.parallelism})",
        f"ratio wall / floor      {ratio:.3f}   "
        f"(target <= {MAX_RATIO}: {verdict(ratio <= MAX_RATIO)})",
        f"requests alone          {calibration.wall:.2f} s for {calibration.requests} GETs = "
        f"{bare_ratio:.3f} of their floor   (same GETs, threads and limiter through a bare "
        "requests adapter: this machine's ceiling)",
        f"hipaactl's own share    {ratio - bare_ratio:+.3f} of the floor above that",
        f"peak RSS (plan)         {run.peak_rss_mb:.1f} MB",
        f"plan CPU (user+sys)     {run.cpu:.2f} s = {run.cpu / run.wall:.1%} of wall",
        f"diff + policy CPU       {stages.diff_cpu:.3f} s + {stages.policy_cpu:.3f} s = "
        f"{share:.2%} of wall   (target < {MAX_DIFF_POLICY_SHARE:.0%}: "
        f"{verdict(share < MAX_DIFF_POLICY_SHARE)})",
        "  (diff + policy: an in-process build_plan over the same agency, reads done first;"
        " time.process_time around "
        + "+".join(DIFF_STAGES)
        + " and "
        + "+".join(POLICY_STAGES)
        + ")",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hipaactl-bench-") as temp:
        directory = Path(temp)
        server, base_url = start_server(args, directory / "server.err")
        try:
            config = write_config(directory, base_url, args)
            run = run_plan(config, directory)
            stats = server_stats(base_url)
            expected = expected_requests(config, args.accounts)
            paths = calibration_paths(args.accounts, args.seed, expected)
            calibration = calibrate(base_url, args, paths)
        finally:
            stop_server(server)
        if run.exit_code != 0:
            errors = (directory / "plan.err").read_text(encoding="utf-8")
            print(f"hipaactl plan exited {run.exit_code}:\n{errors}", file=sys.stderr)
            return 1
        stages = time_diff_and_policy(config, args)
    print(report(args, run, stats, stages, expected, calibration))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
