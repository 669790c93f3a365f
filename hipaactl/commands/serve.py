"""``hipaactl sandbox serve``: run the CTM-compatible HTTP simulator until SIGINT/SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

from hipaactl.commands.console import err, out
from hipaactl.providers.sandbox.server import (
    POLL_SECONDS,
    SandboxServer,
    ServeOptions,
    create_server,
    host_warning,
)

__all__ = ["ServeOptions", "run_serve"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_serve(options: ServeOptions) -> int:
    """Serve until SIGINT or SIGTERM, then close the server and return 0. The URL goes
    to stdout (scripts parse it); everything else to stderr, before it: a warning for a
    non-loopback host, and where the credentials come from (the path of a generated
    credentials file, never the keys)."""
    server = create_server(options, environ=os.environ)
    warning = host_warning(options.host)
    if warning is not None:
        err(f"warning: {warning}")
    err(_credentials_note(server))
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in STOP_SIGNALS}
    # serve_forever runs in a thread: shutdown() called from the thread that serves
    # would wait for itself.
    thread = threading.Thread(
        target=server.serve_forever, args=(POLL_SECONDS,), name="sandbox-serve", daemon=True
    )
    thread.start()
    try:
        out(f"Serving CTM-compatible sandbox on {server.url}\n")
        err(_describe(options))
        # A timed wait, so the signal handler runs promptly on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    err("Sandbox stopped.")
    return 0


def _credentials_note(server: SandboxServer) -> str:
    path = server.credentials_file
    if path is None:
        return "Credentials: CTM_ACCESS_KEY and CTM_SECRET_KEY from this environment."
    return (
        f"Credentials: generated for this run, in {path} (mode 0600, removed on stop); "
        f"load them in the client's shell with: set -a; . {path}; set +a"
    )


def _describe(options: ServeOptions) -> str:
    if options.accounts is not None:
        source = f"a generated agency of {options.accounts} accounts (seed {options.seed})"
    elif options.state is not None:
        source = f"{options.state} (writes are saved to it)"
    else:
        source = "the default seed, in memory"
    knobs = [
        f"latency {options.latency_ms:g} ms" if options.latency_ms else None,
        f"rate limit {options.rate_limit:g}/s" if options.rate_limit is not None else None,
        f"fail rate {options.fail_rate:g}" if options.fail_rate else None,
        f"page cap {options.page_cap}" if options.page_cap is not None else None,
        f"writes of {options.ignore_field} ignored" if options.ignore_field else None,
        "writes answered 200 with an error body" if options.error_body_writes else None,
    ]
    extras = ", ".join(k for k in knobs if k)
    return f"Serving {source}{'; ' + extras if extras else ''}. Stop with Ctrl+C."
