"""Size and render time of the HTML check report over many accounts (SPEC section 10).

Builds the check report of a generated agency (``sandbox`` generator, seeded) read in
process through the CTM mapping (no HTTP, no latency: this measures rendering, not
reading), with the current and 2018 packs (38 rules, above the 20 of the target), and a
history of earlier JSON reports for the trend chart; renders it with
``render_html`` a few times and prints the page's size and the best and median render
time. Target: 1,000 accounts x 20 rules under 5 MB.

    python benchmarks/html_report.py --accounts 1000 --seed 0 [-o report.html]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hipaactl.report.check import Report
    from hipaactl.report.history import HistoryPoint

MAX_BYTES = 5_000_000  # SPEC section 10
PACKS = ("ctm-hipaa-current", "ctm-hipaa-2018")
CONFIG = """\
version = 1
policies = {policies}

[provider]
kind = "ctm"
base_url = "http://127.0.0.1:9"  # never contacted: reads go through the in-process transport

[agency.security]
idle_timeout_minutes = 15
two_factor = "every_login"
require_login_for_recordings = true

[accounts]
include = ["*"]
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--history", type=int, default=30, help="earlier reports to chart")
    parser.add_argument("--repeat", type=int, default=3, help="renders to time")
    parser.add_argument(
        "--pack",
        action="append",
        dest="packs",
        help=f"a built-in pack id (repeatable; default: {' and '.join(PACKS)})",
    )
    parser.add_argument("-o", "--out", type=Path, help="also write the page here")
    return parser.parse_args(argv)


def build(accounts: int, seed: int, packs: Sequence[str], directory: Path) -> Report:
    from hipaactl import pipeline
    from hipaactl.config.load import load_config
    from hipaactl.policy.packs import load_packs
    from hipaactl.providers.ctm.endpoints import EndpointTable
    from hipaactl.providers.ctm.mapping import CtmProvider
    from hipaactl.providers.sandbox.backend import SandboxBackend
    from hipaactl.providers.sandbox.generate import generate_agency
    from hipaactl.providers.sandbox.inprocess import InProcessTransport

    path = directory / "hipaa.toml"
    policies = "[" + ", ".join(f'"{p}"' for p in packs) + "]"
    path.write_text(CONFIG.format(policies=policies), encoding="utf-8")
    config = load_config(path, today=dt.date.today())
    packs = load_packs(config.policies, base_dir=config.directory, config_file=config.path)
    backend = SandboxBackend(generate_agency(accounts, seed=seed))
    provider = CtmProvider(InProcessTransport(backend), EndpointTable({}))
    options = pipeline.PlanOptions(parallelism=1)
    return pipeline.build_check_report(config, packs, provider, options, config_uri="hipaa.toml")


def fake_history(report: Report, count: int) -> list[HistoryPoint]:
    """``count`` earlier nightly runs whose failures shrink day by day."""
    from hipaactl.report.history import HistoryPoint

    summary = report.summary()
    points = []
    for day in range(count, 0, -1):
        moved = min(summary["pass"], day * 7)
        counts = {**summary, "pass": summary["pass"] - moved, "fail": summary["fail"] + moved}
        at = report.evaluated_at - dt.timedelta(days=day)
        points.append(HistoryPoint(at, counts, f"history/{at.date()}/check.json"))
    return [*points, HistoryPoint(report.evaluated_at, summary, "this run")]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from hipaactl.report.render.html import render_html

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        report = build(args.accounts, args.seed, args.packs or PACKS, Path(folder))
        built = time.perf_counter() - start
    history = fake_history(report, args.history)
    rules = len({r.rule.id for r in report.results})
    times, page = [], ""
    for _ in range(args.repeat):
        start = time.perf_counter()
        page = render_html(report, history)
        times.append(time.perf_counter() - start)
    size = len(page.encode("utf-8"))
    if args.out is not None:
        args.out.write_text(page, encoding="utf-8")
    ok = size < MAX_BYTES
    print(f"accounts:        {len(report.scope.managed)}")
    print(f"rules:           {rules}")
    print(f"results:         {len(report.results)}")
    print(f"users:           {len(report.users)}")
    print(f"history points:  {len(history)}")
    print(f"report built in: {built:.2f} s (in-process reads and evaluation)")
    print(f"render time:     best {min(times):.3f} s, median {statistics.median(times):.3f} s")
    print(f"page size:       {size / 1e6:.2f} MB (target < {MAX_BYTES / 1e6:.0f} MB)")
    print(f"verdict:         {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
